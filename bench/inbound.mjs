/**
 * `node bench/inbound.mjs [--messages 4000] [--rounds 3] [--bundle DIR]`
 *
 * The cost of one inbound frame, isolated: one sender pipelines small
 * broadcasts into a room of two as fast as the socket takes them, and the
 * receiver counts. This is the path the fan-out and many-rooms scenarios
 * multiply, so it is where the relay's own per-message work shows. Runs the
 * relay on a direct workerd socket and the ws baseline in the same run and
 * prints frames/s for each and their ratio. Measures, asserts nothing.
 */
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { buildBundle, startBaseline, startWorkerd } from "./lib/servers.mjs";

const { values: flags } = parseArgs({
  options: {
    messages: { type: "string", default: "4000" },
    rounds: { type: "string", default: "3" },
  },
});
const MESSAGES = Number(flags.messages);
const ROUNDS = Number(flags.rounds);

/** Opens a socket and resolves once it has been welcomed. */
function join(base, room) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/rooms/${room}/ws`);
    ws.once("message", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Frames/s from the first send to the last receipt, for one room. */
async function round(base, room, withIds) {
  const sender = await join(base, room);
  const receiver = await join(base, room);
  await new Promise((r) => setTimeout(r, 100));
  const done = new Promise((resolve) => {
    let count = 0;
    receiver.on("message", (data) => {
      if (JSON.parse(data.toString()).type === "message" && ++count === MESSAGES) resolve();
    });
  });
  const start = performance.now();
  const payload = "x".repeat(100);
  for (let n = 0; n < MESSAGES; n++) {
    const frame = { type: "broadcast", data: { n, payload }, ...(withIds ? { id: `m${n}` } : {}) };
    sender.send(JSON.stringify(frame));
  }
  await done;
  const seconds = (performance.now() - start) / 1000;
  sender.close();
  receiver.close();
  return MESSAGES / seconds;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const bundle = await buildBundle();
const servers = [
  await startBaseline("ws"),
  await startWorkerd({
    key: "direct",
    label: "edge-relay, direct socket",
    entry: bundle.entry,
    direct: true,
  }),
];
const rows = [];
try {
  for (const withIds of [false, true]) {
    for (const server of servers) {
      if (withIds && server.key === "ws") continue; // the baseline has no acks
      const rates = [];
      for (let r = 0; r < ROUNDS; r++)
        rates.push(await round(server.base, `in-${r}-${withIds}`, withIds));
      rows.push({ server: server.label, ids: withIds, rate: median(rates) });
    }
  }
} finally {
  for (const server of servers) await server.stop();
}
const baseline = rows.find((row) => row.server.startsWith("ws"))?.rate ?? 1;
console.log(
  `\ninbound broadcasts/s, 1 sender -> 1 receiver, ${MESSAGES} x 100 B, median of ${ROUNDS}`,
);
for (const row of rows) {
  const ratio = (row.rate / baseline).toFixed(2);
  console.log(
    `${row.server}${row.ids ? " with ids (acked)" : ""}: ${Math.round(row.rate)} /s (${ratio}x ws)`,
  );
}
