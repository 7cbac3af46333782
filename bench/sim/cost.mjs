/**
 * What an hour costs on Cloudflare by the model of docs/large-rooms.md
 * ("Cost") and docs/multiplex.md: every RPC call is a billed request,
 * incoming client frames bill 20:1 (outgoing are free), and every object that
 * is awake is billed for 128 MB of duration. Workers Paid prices as of
 * 2026-12, without the included allowances.
 */

const PER_REQUEST = 0.15 / 1e6;
const PER_GB_S = 12.5 / 1e6;
const OBJECT_GB = 0.125;
/** Incoming WebSocket frames per billed request. */
const FRAMES_PER_REQUEST = 20;
/** The client library pings every 20 s (docs/client.md); counted as incoming frames. */
const PING_SECONDS = 20;

/**
 * One hour of a room: `clients` sockets, `rate` broadcasts/s from clients,
 * `calls` link calls/s at the room (0 for a single object), `objects` awake.
 * @param {{clients: number, rate: number, calls: number, objects: number}} o
 */
export function roomHour(o) {
  const frames = (o.rate + o.clients / PING_SECONDS) * 3600;
  // Each socket's upgrade is one request; then its frames bill 20:1 and each link call 1.
  const requests = o.clients + frames / FRAMES_PER_REQUEST + o.calls * 3600;
  const duration = o.objects * OBJECT_GB * 3600 * PER_GB_S;
  return { requests, dollars: requests * PER_REQUEST + duration };
}

/**
 * Holders (hubs or shards) out of `holders` that hold at least one of a
 * room's `members`, each member on a holder picked at random.
 * @param {number} holders @param {number} members
 */
export function holdersReached(holders, members) {
  return holders * (1 - (1 - 1 / holders) ** members);
}

/**
 * Clients each in `roomsEach` rooms of `roomSize` members, `rate` broadcasts/s
 * in each room: one socket per (client, room) against one socket per client
 * through `hubs` hubs. Below saturation a broadcast through hubs is one
 * uplink and one downlink per hub that holds a member of the room.
 * @param {{clients: number, roomsEach: number, roomSize: number, rate: number, hubs: number}} o
 */
export function multiplexHour(o) {
  const rooms = (o.clients * o.roomsEach) / o.roomSize;
  const reached = holdersReached(o.hubs, o.roomSize);
  const callsPerBroadcast = 1 + reached;
  const direct = roomHour({
    clients: o.clients * o.roomsEach,
    rate: rooms * o.rate,
    calls: 0,
    objects: rooms,
  });
  const hub = roomHour({
    clients: o.clients,
    rate: rooms * o.rate,
    calls: rooms * o.rate * callsPerBroadcast,
    objects: rooms + o.hubs,
  });
  return { rooms, reached, callsPerBroadcast, roomCalls: o.rate * callsPerBroadcast, direct, hub };
}
