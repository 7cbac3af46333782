/**
 * The probe that bench/sim/measure.mjs runs on workerd to price the
 * operations the simulation is made of, each in isolation: an RPC call
 * between two Durable Objects by batch size, a group commit by rows, a
 * WebSocket send by lines per frame, and the bare inbound WebSocket event.
 * Every method does one kind of operation many times so the workerd
 * process's CPU time, read from outside, divided by the count is its cost.
 */
import { DurableObject } from "cloudflare:workers";

/** About 100 B, the size of a bench frame. */
const LINE = `{"type":"message","seq":1,"from":"c","data":{"p":"${"x".repeat(64)}"}}`;

/** @param {number} k */
const batchOf = (k) => Array.from({ length: k }, (_, seq) => ({ seq, frame: LINE }));

/** The side that calls, and the side that commits: what the room object does. */
export class Caller extends DurableObject {
  /** Makes `calls` calls of `k` items to the Callee, one in flight at a time, as a link does. */
  async rpc(/** @type {number} */ k, /** @type {number} */ calls) {
    const peer = this.env.CALLEES.getByName("peer");
    let received = 0;
    // A fresh batch per call, as a link builds one from what arrived meanwhile.
    for (let n = 0; n < calls; n++) received += await peer.receive(batchOf(k));
    return received;
  }

  /** `turns` turns, each writing `rows` rows in one implicit transaction, as src/history.ts does. */
  async commit(/** @type {number} */ rows, /** @type {number} */ turns) {
    const sql = this.ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS meta (seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS history (
        seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT NOT NULL, frame TEXT NOT NULL)`);
    if (sql.exec("SELECT 1 FROM meta").toArray().length === 0)
      sql.exec("INSERT INTO meta VALUES (0)");
    let seq = sql.exec("SELECT seq FROM meta").one().seq;
    for (let turn = 0; turn < turns; turn++) {
      for (let row = 0; row < rows; row++)
        sql.exec("INSERT INTO history VALUES (?, ?, ?, ?)", ++seq, Date.now(), "c", LINE);
      sql.exec("UPDATE meta SET seq = ?", seq);
      sql.exec("DELETE FROM history WHERE seq <= ?", seq - 1000);
      // The next turn: the implicit transaction commits when this one ends.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return seq;
  }
}

/** The side that is called, and holds sockets: what a shard does. */
export class Callee extends DurableObject {
  /** @param {{seq: number, frame: string}[]} batch */
  receive(batch) {
    return batch.length;
  }

  fetch() {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    server.send("welcome");
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * Sends `frames` frames of `lines` lines to every socket, `perTurn` frames
   * per socket in each turn (a room sends a turn's broadcasts together, then
   * yields); returns how many sockets.
   */
  async blast(
    /** @type {number} */ frames,
    /** @type {number} */ lines,
    /** @type {number} */ perTurn,
  ) {
    const sockets = this.ctx.getWebSockets();
    const frame = Array.from({ length: lines }, () => LINE).join("\n");
    for (let n = 0; n < frames; n += perTurn) {
      for (const ws of sockets) for (let j = 0; j < perTurn; j++) ws.send(frame);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    for (const ws of sockets) ws.send("end");
    return sockets.length;
  }

  /** The bare inbound event: counts, and answers "end" so the sender knows all arrived. */
  webSocketMessage(/** @type {WebSocket} */ ws, /** @type {string | ArrayBuffer} */ message) {
    if (message === "end") ws.send("end");
  }

  webSocketClose(/** @type {WebSocket} */ ws) {
    try {
      ws.close(1000);
    } catch {
      // already closed
    }
  }
}

export default {
  /** @param {Request} request @param {{CALLERS: DurableObjectNamespace, CALLEES: DurableObjectNamespace}} env */
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = (/** @type {string} */ name) => Number(url.searchParams.get(name));
    const caller = env.CALLERS.getByName("caller");
    const callee = env.CALLEES.getByName(url.searchParams.get("object") ?? "peer");
    switch (url.pathname) {
      case "/health":
        return new Response("ok");
      case "/rpc":
        return Response.json(await caller.rpc(n("k"), n("calls")));
      case "/commit":
        return Response.json(await caller.commit(n("rows"), n("turns")));
      case "/blast":
        return Response.json(await callee.blast(n("frames"), n("lines"), n("perTurn")));
      case "/ws":
        return callee.fetch(request);
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
