import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The relay logs a JSON line per event; tests read behaviour, not logs.
    silent: true,
    projects: [
      {
        // Runs inside workerd with the Worker and its Durable Object.
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
        test: { name: "workerd", include: ["test/*.test.ts"] },
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
    ],
  },
});
