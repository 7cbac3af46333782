// Types of bench/sim/join.mjs for the unit test that checks the join model.
export type JoinPrices = { announced: number; pastCap: number; client: number; room: number };
export function joinPrices(serviceTimes: unknown, sharded: boolean, roomPart: number): JoinPrices;
export function simulateJoin(
  s: {
    clients: number;
    processes?: number;
    inFlight?: number;
    presenceMax?: number;
    cores: number;
    background?: number;
    generators: number;
    linkMs?: number;
  },
  p: JoinPrices,
): { seconds: number; cpuSeconds: number[] };
