/**
 * The measurements `npm run sim -- --validate` holds the model to, run one
 * after another on this machine (127.0.0.1 only), each by the bench script
 * that owns it, into one directory:
 *
 * - service-times.json: bench/sim/measure.mjs, the model's prices, first, so
 *   the prices and the runs they predict share the machine's moment;
 * - ramp/latest.json: the overhead run (`bench.mjs --servers none`): the
 *   single-object ramp of 100 plain clients and the same ramp over 4 shards;
 * - big/big-room.json: 9,500 sockets in one room, single and 8 shards;
 * - cross/big-room-processes.json: a short cross-process run (12,000
 *   sockets, 4 shards over 2 shard processes, the room in a third).
 *
 * Each step is a child process with a deadline. Other work on the machine
 * moves every figure, so each step records the load average before and
 * after; `others`, the cores that processes outside the step used on
 * average while it ran (the machine's busy time from /proc/stat less the
 * CPU of the step's own process tree); and `runnable`, how many threads of
 * other work wanted a core on average (/proc/stat's procs_running less the
 * step's running threads and the sampler), sampled every second. Processor
 * sharing divides the cores by runnable threads, so the model takes
 * `runnable` as its background threads.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuSeconds, descendants } from "../lib/proc.mjs";

const BENCH = join(dirname(fileURLToPath(import.meta.url)), "..");

/** @param {string} dir */
const steps = (dir) => [
  {
    name: "service times",
    args: [join(BENCH, "sim/measure.mjs"), "--reps", "3", "--out", join(dir, "service-times.json")],
    minutes: 8,
  },
  {
    name: "single-object ramp and 4-shard overhead",
    args: [
      join(BENCH, "bench.mjs"),
      ...["--servers", "none", "--no-documents", "--no-then-multiplex"],
      ...["--out", join(dir, "ramp")],
    ],
    minutes: 12,
  },
  {
    name: "9,500 sockets, single and 8 shards",
    args: [
      join(BENCH, "bench.mjs"),
      ...["--big-room", "--sockets", "9500", "--shards", "8", "--protocol", "ndjson"],
      ...["--broadcasts", "10", "--join-minutes", "2", "--out", join(dir, "big")],
    ],
    minutes: 10,
  },
  {
    name: "12,000 sockets, 4 shards over 3 processes",
    args: [
      join(BENCH, "bench.mjs"),
      ...["--big-room", "--sockets", "12000", "--shards", "4", "--processes", "3"],
      ...["--protocol", "ndjson", "--broadcasts", "10", "--join-minutes", "2"],
      ...["--out", join(dir, "cross")],
    ],
    minutes: 10,
  },
];

/** The machine's busy CPU seconds so far, every core (/proc/stat's first line, 100 ticks/s). */
function machineBusy() {
  const fields =
    readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1) ?? [];
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100
  );
}

/** Threads of `pid` that are running or runnable now (state R). @param {number} pid */
function runningThreads(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).filter((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "R";
    }).length;
  } catch {
    return 0;
  }
}

/**
 * Follows a step's process tree each second: the CPU its processes used
 * (each process counted up to its last sample) against the machine's.
 * @param {number} root
 */
function follow(root) {
  /** @type {Map<number, number>} each process's CPU at its last sample (all of it began with the step) */
  const seen = new Map();
  const busy0 = machineBusy();
  const t0 = performance.now();
  const queue = { sum: 0, n: 0 };
  const sample = () => {
    const tree = [root, ...descendants(root)];
    const running = Number(
      /procs_running (\d+)/.exec(readFileSync("/proc/stat", "utf8"))?.[1] ?? 0,
    );
    // The sampler itself is running while it reads.
    queue.sum += Math.max(0, running - 1 - tree.reduce((n, pid) => n + runningThreads(pid), 0));
    queue.n++;
    for (const pid of tree) seen.set(pid, Math.max(seen.get(pid) ?? 0, cpuSeconds(pid)));
  };
  sample();
  const timer = setInterval(sample, 1000);
  return () => {
    clearInterval(timer);
    const wall = (performance.now() - t0) / 1000;
    const own = [...seen.values()].reduce((n, cpu) => n + cpu, 0);
    const all = machineBusy() - busy0;
    const runnable = queue.n ? queue.sum / queue.n : 0;
    return { wall, own, others: Math.max(0, all - own) / wall, runnable };
  };
}

/**
 * Runs one step with its output to `log`; past its deadline its process
 * group is ended (it would otherwise hold the machine).
 * @param {string[]} args @param {number} minutes @param {string} log
 * @returns {Promise<{code: number | null, wall: number, own: number, others: number, runnable: number}>}
 */
function run(args, minutes, log) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const lines = /** @type {string[]} */ ([]);
    const keep = (/** @type {Buffer} */ b) => {
      lines.push(b.toString());
      process.stdout.write(b);
    };
    const stop = follow(/** @type {number} */ (child.pid));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, "SIGINT");
    }, minutes * 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      writeFileSync(log, lines.join(""));
      resolve({ code, ...stop() });
    });
  });
}

/**
 * Runs the measurements from step `from` on into `dir` and records when and
 * under what load, keeping the records of the steps before it.
 * @param {string} dir @param {number} [from]
 */
export async function measureAll(dir, from = 0) {
  mkdirSync(dir, { recursive: true });
  const kept = from > 0 ? JSON.parse(readFileSync(join(dir, "runs.json"), "utf8")).done : [];
  const done = kept.slice(0, from);
  for (const [i, step] of steps(dir).entries()) {
    if (i < from) continue;
    const before = loadavg()[0];
    const t0 = performance.now();
    console.log(`\n== ${step.name} (load average ${before.toFixed(1)})`);
    const ran = await run(step.args, step.minutes, join(dir, `step-${i}.log`));
    const minutes = (performance.now() - t0) / 60_000;
    done.push({ name: step.name, ...ran, load: [before, loadavg()[0]], minutes });
    console.log(
      `== other work: ${ran.others.toFixed(2)} cores used, ${ran.runnable.toFixed(2)} threads runnable on average`,
    );
  }
  writeFileSync(join(dir, "runs.json"), `${JSON.stringify({ date: new Date(), done }, null, 2)}\n`);
  return done;
}
