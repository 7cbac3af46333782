import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** A workerd project: a Worker (ours by default) and its Durable Objects with extra bindings. */
function workerd(
  name: string,
  include: string[],
  bindings: Record<string, string>,
  configPath = "./wrangler.toml",
) {
  return {
    plugins: [cloudflareTest({ wrangler: { configPath }, miniflare: { bindings } })],
    // A hang guard, not a speed limit: the first test of a file also starts its
    // Worker, and CI shares two cores with every project running at once.
    test: { name, include, testTimeout: 20_000 },
  };
}

const HUBS = {
  ADMIN_TOKEN: "test-admin-token",
  HUB_COUNT: "1",
  ROOMS_PER_CONNECTION: "3",
  HISTORY_SIZE: "20",
};
const HUB_FAULTS = {
  ADMIN_TOKEN: "test-admin-token",
  HUB_COUNT: "2",
  ROOMS_PER_CONNECTION: "3",
  LINK_FAULTS: "drop=0.2,double=0.2,delay=0.3",
};
// The secret in Standard Webhooks form: `whsec_` and the key in base64.
const WEBHOOKS = {
  WEBHOOK_URL: "http://hooks.test/relay",
  WEBHOOK_SECRET: `whsec_${btoa("test-webhook-secret")}`,
};

export default defineConfig({
  test: {
    // The relay logs a JSON line per event; tests read behaviour, not logs.
    silent: true,
    projects: [
      // wrangler.toml's defaults, open relay, with a server API token.
      workerd("workerd", ["test/*.test.ts", "test/documents/*.test.ts"], {
        ADMIN_TOKEN: "test-admin-token",
      }),
      // The same room tests with every room spread over three shards (src/big-rooms/),
      // and the tests of what only big rooms do.
      workerd("workerd-sharded", ["test/*.test.ts", "test/sharded/*.test.ts"], {
        ADMIN_TOKEN: "test-admin-token",
        SHARD_COUNT: "3",
      }),
      // Presence at scale: a tiny PRESENCE_MAX, in one object and over shards.
      workerd("workerd-crowd", ["test/crowd/*.test.ts"], { PRESENCE_MAX: "2" }),
      workerd("workerd-crowd-sharded", ["test/crowd/*.test.ts"], {
        PRESENCE_MAX: "2",
        SHARD_COUNT: "3",
      }),
      // The resume property over shards whose links drop, double and delay calls.
      workerd("workerd-faults", ["test/resume.property.test.ts", "test/sharded/order.test.ts"], {
        ADMIN_TOKEN: "test-admin-token",
        SHARD_COUNT: "3",
        LINK_FAULTS: "drop=0.2,double=0.2,delay=0.3",
      }),
      // A room that shards by load, with thresholds small enough to cross.
      workerd("workerd-switch", ["test/switch/*.test.ts"], {
        ADMIN_TOKEN: "test-admin-token",
        SHARD_AT_SESSIONS: "8",
        SHARDS_BY_LOAD: "2",
      }),
      // Many rooms on one connection (src/hubs/): one hub, so a test's connections share it,
      // a cap of 3 rooms and a history short enough to outrun; rooms in one object and sharded.
      workerd("workerd-hubs", ["test/hubs/*.test.ts"], HUBS),
      workerd("workerd-hubs-sharded", ["test/hubs/*.test.ts"], { ...HUBS, SHARD_COUNT: "3" }),
      // The resume property with hubs, over links that drop, double and delay calls: two hubs,
      // so a room has several holders; rooms in one object, and over shards, where single-room
      // sockets cross links too.
      workerd("workerd-hubs-faults", ["test/hubs/faults/*.test.ts"], HUB_FAULTS),
      workerd("workerd-hubs-faults-sharded", ["test/hubs/faults/*.test.ts"], {
        ...HUB_FAULTS,
        SHARD_COUNT: "3",
      }),
      // JWT auth and an Origin allow-list on; no ADMIN_TOKEN configured.
      workerd("workerd-auth", ["test/auth/*.test.ts", "test/documents/auth/*.test.ts"], {
        AUTH_SECRET: "test-auth-secret",
        ALLOWED_ORIGINS: "https://app.example, https://admin.example",
      }),
      // Tokens that expire on live sockets, and sessions the backend ends: auth on, with
      // a server API token, in one object and over shards.
      workerd("workerd-trust", ["test/trust/*.test.ts"], {
        AUTH_SECRET: "test-auth-secret",
        ADMIN_TOKEN: "test-admin-token",
      }),
      workerd("workerd-trust-sharded", ["test/trust/*.test.ts"], {
        AUTH_SECRET: "test-auth-secret",
        ADMIN_TOKEN: "test-admin-token",
        SHARD_COUNT: "3",
      }),
      // A history small and short enough to run out of in a test.
      workerd("workerd-short-history", ["test/short-history/*.test.ts"], {
        HISTORY_SIZE: "5",
        HISTORY_TTL_SECONDS: "1",
      }),
      // Someone else's Worker mounting the relay with hooks (test/hooks/worker.ts).
      workerd("workerd-hooks", ["test/hooks/*.test.ts"], {}, "./test/hooks/wrangler.toml"),
      // The same, with its rooms spread over shards: hooks still run in the room.
      workerd(
        "workerd-hooks-sharded",
        ["test/hooks/*.test.ts"],
        { SHARD_COUNT: "3" },
        "./test/hooks/wrangler.toml",
      ),
      // The directory, metrics and webhooks (src/observe/), on by their bindings and vars.
      workerd("workerd-observe", ["test/observe/*.test.ts"], { ADMIN_TOKEN: "test-admin-token" }),
      workerd("workerd-observe-sharded", ["test/observe/*.test.ts"], {
        ADMIN_TOKEN: "test-admin-token",
        SHARD_COUNT: "3",
      }),
      // Webhooks to a local receiver (the tests mock the room's outbound fetch to this URL).
      workerd("workerd-webhooks", ["test/observe/webhooks/*.test.ts"], WEBHOOKS),
      workerd("workerd-webhooks-sharded", ["test/observe/webhooks/*.test.ts"], {
        ...WEBHOOKS,
        SHARD_COUNT: "3",
      }),
      // A per-address cap small enough to reach.
      workerd("workerd-limits", ["test/limits/*.test.ts"], { MAX_CONNECTIONS_PER_IP: "3" }),
      {
        // The React hooks in a DOM, driven by a fake client.
        test: { name: "react", include: ["test/react/**/*.test.tsx"], environment: "jsdom" },
      },
      {
        // Runs in Node against the real bundle under `wrangler dev`.
        test: {
          name: "e2e",
          include: ["test/e2e/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      // Plain Node, no relay: the client library's parts against fakes.
      // Its typecheck runs the *.test-d.ts files through tsc.
      {
        test: {
          name: "unit",
          include: ["test/unit/*.test.ts"],
          typecheck: {
            enabled: true,
            include: ["test/unit/*.test-d.ts"],
            tsconfig: "test/unit/tsconfig.json",
          },
        },
      },
    ],
  },
});
