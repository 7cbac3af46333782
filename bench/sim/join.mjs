/**
 * The join phase of a big room (bench/big-room.mjs) as queues: every
 * generator process keeps `inFlight` handshakes open per serving process it
 * feeds, so joins arrive as a closed loop, not at a rate. A handshake costs
 * its generator the client side, then the serving process the join: the
 * first `presenceMax` joins are announced to everyone (dearer), the rest are
 * accept and welcome only. Sharded over several processes, a join costs the
 * shard's process its part and the room's process its side of the uplink
 * join call, one link away. Join time is the last welcome, as the bench
 * reports it. Prices come from bench/sim/measure.mjs (`relay.join`).
 */
import { Clock, Machine } from "./queue.mjs";

/**
 * @typedef {{announced: number, pastCap: number, client: number, room: number}} JoinPrices
 *   seconds per join: server CPU for an announced join and for one past the
 *   cap (all of it, in one process), the client's CPU, and the room
 *   object's part of a sharded join (its side of the uplink join call)
 */

/**
 * The join prices of one layout from service-times.json.
 * @param {any} st @param {boolean} sharded @param {number} roomPart seconds
 * @returns {JoinPrices}
 */
export function joinPrices(st, sharded, roomPart) {
  const j = st.relay?.join?.[sharded ? "sharded" : "single"];
  if (!j) throw new Error("service-times.json has no join prices: npm run sim -- --validate");
  const us = 1e-6;
  return {
    announced: j.announcedUs * us,
    pastCap: j.pastCapUs * us,
    client: j.clientUs * us,
    room: sharded ? roomPart : 0,
  };
}

/**
 * Simulates `clients` joins; returns the seconds until the last welcome and
 * each serving process's CPU (the room's process first).
 * @param {{clients: number, processes?: number, inFlight?: number, presenceMax?: number,
 *   cores: number, background?: number, generators: number, linkMs?: number}} s
 * @param {JoinPrices} p
 */
export function simulateJoin(s, p) {
  const clock = new Clock();
  const machine = new Machine(clock, s.cores, s.background ?? 0);
  const processes = Math.max(1, s.processes ?? 1);
  const servers = Array.from({ length: processes }, () => machine.thread());
  // Clients go to every process but the room's when there are several.
  const entries = processes > 1 ? servers.slice(1) : servers;
  const gens = Array.from({ length: s.generators }, () => machine.thread());
  const link = (s.linkMs ?? 0.05) / 1000;
  const cap = s.presenceMax ?? 100;
  let started = 0;
  let last = 0;
  const next = (/** @type {number} */ slot) => {
    if (started >= s.clients) return;
    const n = started++;
    const own = n < cap ? p.announced : p.pastCap;
    const entry = /** @type {import("./queue.mjs").Thread} */ (entries[slot % entries.length]);
    const welcomed = (/** @type {number} */ end) => {
      last = Math.max(last, end);
      next(slot);
    };
    const serve = () => {
      if (processes === 1) return entry.submit(() => ({ cost: own, done: welcomed }));
      // The shard's part, then the uplink join call to the room and the welcome back.
      entry.submit(() => ({
        cost: Math.max(0, own - p.room),
        done: (end) =>
          clock.at(end + link, () =>
            servers[0]?.submit(() => ({
              cost: p.room,
              done: (e) => clock.at(e + link, () => welcomed(clock.now)),
            })),
          ),
      }));
    };
    gens[slot % gens.length]?.submit(() => ({ cost: p.client, done: serve }));
  };
  // Each generator keeps inFlight handshakes per serving process it feeds.
  const slots = (s.inFlight ?? 100) * s.generators * entries.length;
  for (let k = 0; k < slots; k++) next(k);
  clock.run();
  return { seconds: last, cpuSeconds: servers.map((t) => t.used) };
}
