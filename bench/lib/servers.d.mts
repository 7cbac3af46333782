// Types for the TypeScript callers of servers.mjs (test/e2e/wrangler.ts).

/** A server under test, started by servers.mjs. */
export type Server = {
  key: string;
  label: string;
  kind: "relay" | "sio";
  protocol: "plain" | "ndjson";
  base: string;
  measuredPid: () => number;
  cpuPids: () => { name: string; pid: number }[];
  memoryPids: () => { name: string; pid: number }[];
  output: () => string;
  stop: () => Promise<void>;
};

/** Limits the bench lifts so the relay is measured, not its abuse protection. */
export declare const BENCH_VARS: Record<string, string>;

/** `wrangler dev` on a free loopback port with fresh state; see servers.mjs. */
export declare function startWranglerDev(options?: {
  vars?: Record<string, string>;
  freeze?: boolean;
  extra?: string[];
  health?: string;
  state?: string;
  onOutput?: (chunk: string) => void;
}): Promise<Server>;
