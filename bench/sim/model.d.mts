// Types of bench/sim/model.mjs for the unit test that checks the model's links and commits.
export type Costs = {
  rpc: (items: number) => number;
  callShare: number;
  commit: (rows: number) => number;
  inbound: number;
  order: number;
  socketTurn: number;
  frame: (lines: number) => number;
};
export type Scenario = {
  clients: number;
  shards: number;
  protocol: "plain" | "ndjson";
  rate: number;
  seconds: number;
  drain?: number;
  linkMs?: number;
  cpus?: "own" | "shared";
  processes?: number;
  source?: "clients" | "api";
  cores?: number;
  background?: number;
  generators?: number;
  generatorCost?: number;
  arrivals?: "bench" | "poisson" | "publish";
  seed?: number;
};
export function costs(serviceTimes: unknown): Costs;
export function sendCost(
  c: Costs,
  protocol: "plain" | "ndjson",
  sockets: number,
  rows: number,
): number;
export function simulate(
  s: Scenario,
  c: Costs,
): {
  offered: number;
  deliveriesPerSec: number;
  deliveredRatio: number;
  p50: number;
  p99: number;
  roomRpcPerSec: number;
  roomRpcIn: number;
  roomRpcOut: number;
  roomCpu: number;
  cpuSeconds: number[];
  generatorCpuSeconds: number;
};
