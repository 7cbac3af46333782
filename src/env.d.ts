/**
 * Secrets are not in wrangler.toml, so `wrangler types` cannot see them; they
 * are optional because the relay runs open without them.
 */
interface Env {
  AUTH_SECRET?: string;
  ADMIN_TOKEN?: string;
  DEDUP_SECONDS?: string;
}
