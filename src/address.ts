/**
 * The client address that per-address limits count, and the upgrade budget
 * (the `UPGRADES` rate limit binding) that rooms and documents share, so a
 * client cannot double its upgrades by opening both.
 */

/**
 * The address the per-address limits count. Cloudflare sets the header in
 * production; locally Miniflare sets it to loopback for every client, and
 * local development and load tests must not hit a production abuse limit.
 */
export function clientAddress(header: string | undefined): string | undefined {
  return header === undefined || LOOPBACK.has(header) ? undefined : header;
}

const LOOPBACK = new Set(["127.0.0.1", "::1"]);

/** Spends one upgrade of `address`'s budget; false when it has none left. */
export async function spendUpgrade(
  budget: RateLimit | undefined,
  address: string | undefined,
): Promise<boolean> {
  if (!budget || address === undefined) return true;
  return (await budget.limit({ key: address })).success;
}
