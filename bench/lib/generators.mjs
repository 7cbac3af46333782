/**
 * The bench's handle on its load-generator processes (bench/lib/loadgen.mjs):
 * request/response over IPC, clients spread round-robin across processes, and
 * one synchronized step across all of them.
 */
import { fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Histogram } from "./histogram.mjs";
import { sleep } from "./proc.mjs";

const LOADGEN = join(dirname(fileURLToPath(import.meta.url)), "loadgen.mjs");
const now = () => performance.timeOrigin + performance.now();

export class Generators {
  /** @param {number} count */
  constructor(count) {
    this.rid = 0;
    /** @type {Map<number, {resolve: (v: any) => void, reject: (e: Error) => void}>} */
    this.pending = new Map();
    this.procs = Array.from({ length: count }, () => {
      const child = fork(LOADGEN, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      child.on("message", (/** @type {any} */ msg) => {
        const waiter = this.pending.get(msg.rid);
        if (!waiter) return;
        this.pending.delete(msg.rid);
        if (msg.ok) waiter.resolve(msg.result);
        else waiter.reject(new Error(msg.error));
      });
      return child;
    });
    this.stepId = 0;
  }

  /** @param {import("node:child_process").ChildProcess} proc @param {string} cmd @param {object} [body] */
  call(proc, cmd, body = {}) {
    const rid = ++this.rid;
    return new Promise((resolve, reject) => {
      this.pending.set(rid, { resolve, reject });
      proc.send({ rid, cmd, ...body });
    });
  }

  /** @param {string} cmd @param {(i: number) => object} [body] @returns {Promise<any[]>} */
  all(cmd, body = () => ({})) {
    return Promise.all(this.procs.map((p, i) => this.call(p, cmd, body(i))));
  }

  /** CPU seconds (user + system) used by all generator processes so far. */
  async cpu() {
    const usages = await this.all("cpu");
    return usages.reduce((sum, u) => sum + (u.user + u.system) / 1e6, 0);
  }

  /**
   * Connects clients, spread round-robin over the processes.
   * @param {{base: string, kind: string, protocol: string}} server
   * @param {{room: string, name: string, roomSize: number}[]} specs
   * @param {number} concurrency connection attempts in flight per process
   * @param {boolean} [deflate] offer permessage-deflate (the default, as browsers do)
   * @param {number} [deadline] epoch ms after which no more handshakes start
   */
  async connect(server, specs, concurrency, deflate = true, deadline = undefined) {
    const shares = this.procs.map(() => /** @type {typeof specs} */ ([]));
    for (const [i, spec] of specs.entries()) shares[i % shares.length]?.push(spec);
    const started = now();
    const replies = await this.all("connect", (i) => ({
      base: server.base,
      kind: server.kind,
      protocol: server.protocol,
      deflate,
      clients: shares[i],
      concurrency,
      deadline,
    }));
    /** @type {Record<string, number>} negotiated extension -> clients */
    const extensions = {};
    for (const r of replies)
      for (const [ext, n] of Object.entries(r.extensions))
        extensions[ext] = (extensions[ext] ?? 0) + n;
    return {
      started,
      extensions,
      connected: replies.reduce((n, r) => n + r.connected, 0),
      failed: replies.reduce((n, r) => n + r.failed, 0),
      errors: replies.flatMap((r) => r.errors),
      lastWelcome: Math.max(...replies.map((r) => r.lastWelcome)),
    };
  }

  /**
   * One step of offered load: `rate` messages/s in total for `durationMs`,
   * then waits (up to graceMs) for the deliveries still in flight.
   * @param {{rate: number, durationMs: number, payloadBytes: number, graceMs: number}} o
   */
  async step(o) {
    const id = ++this.stepId;
    const startAt = now() + 100;
    const share = o.rate / this.procs.length;
    const sends = await this.all("step", () => ({
      id,
      startAt,
      durationMs: o.durationMs,
      rate: share,
      payloadBytes: o.payloadBytes,
    }));
    const sent = sends.reduce((n, s) => n + s.sent, 0);
    const sentFrames = sends.reduce((n, s) => n + s.sentFrames, 0);
    const expected = sends.reduce((n, s) => n + s.expected, 0);
    // Drain: stop when everything arrived, nothing arrived for 500 ms, or grace ran out.
    const deadline = now() + o.graceMs;
    let last = -1;
    let lastChange = now();
    while (now() < deadline) {
      const counts = await this.all("count");
      const received = counts.reduce((n, c) => n + c.received, 0);
      if (received >= expected) break;
      if (received !== last) {
        last = received;
        lastChange = now();
      } else if (now() - lastChange > 500) break;
      await sleep(50);
    }
    const collected = await this.all("collect");
    const hist = new Histogram();
    for (const c of collected) if (c.hist) hist.merge(c.hist);
    return {
      sent,
      sentFrames,
      expected,
      frameBytes: sends[0]?.frameBytes ?? 0,
      received: collected.reduce((n, c) => n + c.received, 0),
      inWindow: collected.reduce((n, c) => n + c.inWindow, 0),
      bytes: collected.reduce((n, c) => n + c.bytes, 0),
      frames: collected.reduce((n, c) => n + c.frames, 0),
      lines: collected.reduce((n, c) => n + c.lines, 0),
      errorFrames: collected.reduce((n, c) => n + c.errorFrames, 0),
      unexpectedCloses: collected.reduce((n, c) => n + c.unexpectedCloses, 0),
      hist,
    };
  }

  /** Starts counting the server's numbered broadcasts (the clients send nothing). */
  async watch() {
    const id = ++this.stepId;
    await this.all("watch", () => ({ id }));
    return id;
  }

  /** Stamped messages received so far in this step, across processes. */
  async received() {
    const counts = await this.all("count");
    return counts.reduce((n, c) => n + c.received, 0);
  }

  /** Ends a `watch`: the merged histogram, one per broadcast number, and order faults. */
  async collectWatch() {
    const collected = await this.all("collect");
    const hist = new Histogram();
    /** @type {Map<number, Histogram>} */
    const perN = new Map();
    for (const c of collected) {
      if (c.hist) hist.merge(c.hist);
      for (const [n, h] of c.perN ?? []) {
        if (!perN.has(n)) perN.set(n, new Histogram());
        perN.get(n)?.merge(h);
      }
    }
    const sum = (/** @type {string} */ key) => collected.reduce((n, c) => n + c[key], 0);
    return {
      hist,
      perN,
      received: sum("received"),
      outOfOrder: sum("outOfOrder"),
      live: sum("live"),
      errorFrames: sum("errorFrames"),
      unexpectedCloses: sum("unexpectedCloses"),
    };
  }

  async closeAll() {
    await this.all("close");
  }

  async exit() {
    for (const p of this.procs) p.send({ rid: 0, cmd: "exit" });
    await sleep(100);
    for (const p of this.procs) if (p.exitCode === null) p.kill();
  }
}
