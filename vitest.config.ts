import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** A workerd project: the Worker and its Durable Object with extra bindings. */
function workerd(name: string, include: string[], bindings: Record<string, string>) {
  return {
    plugins: [
      cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings } }),
    ],
    test: { name, include },
  };
}

export default defineConfig({
  test: {
    // The relay logs a JSON line per event; tests read behaviour, not logs.
    silent: true,
    projects: [
      // wrangler.toml's defaults, open relay, with a server API token.
      workerd("workerd", ["test/*.test.ts", "test/documents/*.test.ts"], {
        ADMIN_TOKEN: "test-admin-token",
      }),
      // JWT auth and an Origin allow-list on; no ADMIN_TOKEN configured.
      workerd("workerd-auth", ["test/auth/*.test.ts", "test/documents/auth/*.test.ts"], {
        AUTH_SECRET: "test-auth-secret",
        ALLOWED_ORIGINS: "https://app.example, https://admin.example",
      }),
      // A history small and short enough to run out of in a test.
      workerd("workerd-short-history", ["test/short-history/*.test.ts"], {
        HISTORY_SIZE: "5",
        HISTORY_TTL_SECONDS: "1",
      }),
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
