/**
 * Reads process facts from /proc (Linux): resident memory, CPU time and the
 * process tree, so the bench can measure the server process itself (workerd,
 * not the node wrapper that started it).
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** @param {number} pid @returns {number | undefined} resident set size in bytes */
export function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** @param {number} pid @returns {number} user + system CPU seconds so far (0 if gone) */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** @param {number[]} pids */
export function cpuSecondsOf(pids) {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** @param {number} pid */
export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** @param {number} pid */
function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** @returns {Map<number, number>} pid -> parent pid, for every process */
function parents() {
  const map = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      map.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  return map;
}

/** @param {number} root @returns {number[]} every descendant of root (not root itself) */
export function descendants(root) {
  const tree = parents();
  const found = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [pid, ppid] of tree) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** @param {number} root @returns {{pid: number, cmd: string}[]} workerd processes under root */
export function workerdUnder(root) {
  return descendants(root)
    .filter((pid) => comm(pid) === "workerd")
    .map((pid) => ({ pid, cmd: cmdline(pid) }));
}

/** Ports handed out by this process: the kernel may offer a just-closed port again. */
const handedOut = new Set();

/** @returns {Promise<number>} a TCP port that was free on 127.0.0.1 a moment ago, never the same twice */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = createServer();
      server.on("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() =>
          typeof address === "object" && address
            ? resolve(address.port)
            : reject(new Error("no port")),
        );
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
