/**
 * Abuse limits per client address, with MAX_CONNECTIONS_PER_IP=3 and
 * wrangler.toml's UPGRADES budget (120 upgrades a minute per address).
 */
import { describe, expect, it } from "vitest";
import { freshRoom, join, upgrade } from "../client";

const CAP = 3;
const UPGRADES_PER_MINUTE = 120;

const from = (address: string) => ({ "CF-Connecting-IP": address });

async function refusal(response: Response): Promise<[number, string]> {
  const body = (await response.json()) as { error: { code: string } };
  return [response.status, body.error.code];
}

/**
 * Accepts an upgraded socket and answers how it began: the close of a refused
 * document socket, or undefined for one that was let in (a room's welcome, a
 * document's sync step 1), which it then closes.
 */
async function closedAs(response: Response): Promise<{ code: number; reason: string } | undefined> {
  const ws = response.webSocket;
  if (response.status !== 101 || !ws) throw new Error(`refused: ${response.status}`);
  const first = new Promise<{ code: number; reason: string } | undefined>((resolve) => {
    ws.addEventListener("message", () => resolve(undefined));
    ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason }));
  });
  ws.accept();
  const closed = await first;
  if (!closed) ws.close();
  return closed;
}

/**
 * Spends an address's whole upgrade budget through `spend`, then runs
 * `check` on what one more upgrade gets. The local rate limiter counts in
 * windows aligned to the wall clock's minutes, so a run that straddles one
 * finds a fresh budget: it is run again from a new address, which a run
 * started within a window always finishes in.
 */
async function pastTheBudget(
  prefix: string,
  spend: (headers: Record<string, string>, n: number) => Promise<void>,
  check: (headers: Record<string, string>) => Promise<void>,
): Promise<void> {
  const minute = () => Math.floor(Date.now() / 60_000);
  for (let attempt = 1; ; attempt++) {
    const headers = from(`${prefix}.${attempt}`);
    const window = minute();
    for (let n = 0; n < UPGRADES_PER_MINUTE; n++) await spend(headers, n);
    if (minute() !== window && attempt < 3) continue;
    return check(headers);
  }
}

describe("sessions per address in one room", () => {
  it("admits the cap from one address, refuses one more with 429, and admits others", async () => {
    const room = freshRoom();
    const first = [];
    for (let n = 0; n < CAP; n++) first.push(await join(room, `a${n}`, {}, from("203.0.113.1")));
    const over = await upgrade(`/rooms/${room}/ws`, from("203.0.113.1"));
    expect(await refusal(over)).toEqual([429, "too_many_connections"]);
    // Another address, and another room, are not affected.
    await join(room, "b", {}, from("203.0.113.2"));
    await join(freshRoom(), "a", {}, from("203.0.113.1"));

    // A session that leaves frees its place.
    first[0]?.client.close();
    await first[1]?.client.next("leave");
    await join(room, "again", {}, from("203.0.113.1"));
  });

  it("does not count a client without an address, or from loopback (local development)", async () => {
    const room = freshRoom();
    for (let n = 0; n <= CAP; n++) await join(room, `local${n}`);
    for (const loopback of ["127.0.0.1", "::1"]) {
      for (let n = 0; n <= CAP; n++) await join(room, `loop${n}`, {}, from(loopback));
    }
  });
});

describe("upgrades per address", () => {
  it("refuses the upgrade past the budget with 429 too_many_upgrades", async () => {
    const spend = async (headers: Record<string, string>) => {
      const response = await upgrade(`/rooms/${freshRoom()}/ws`, headers);
      expect(response.status).toBe(101);
      response.webSocket?.accept();
      response.webSocket?.close();
    };
    await pastTheBudget("198.51.100", spend, async (headers) => {
      const over = await upgrade(`/rooms/${freshRoom()}/ws`, headers);
      expect(await refusal(over)).toEqual([429, "too_many_upgrades"]);
    });
    // Budgets are per address.
    expect((await upgrade(`/rooms/${freshRoom()}/ws`, from("198.51.99.10"))).status).toBe(101);
  }, 180_000);

  it("counts document upgrades in the same budget as rooms", async () => {
    const doc = `budget-doc-${Date.now().toString(36)}`;
    const spend = async (headers: Record<string, string>, n: number) => {
      const path = n % 2 === 0 ? `/rooms/${freshRoom()}/ws` : `/docs/${doc}`;
      expect(await closedAs(await upgrade(path, headers))).toBeUndefined();
    };
    await pastTheBudget("198.51.101", spend, async (headers) => {
      // Past it, a document socket is closed with a code y-websocket retries.
      const over = await upgrade(`/docs/${doc}`, headers);
      const closed = await closedAs(over);
      expect(closed).toEqual({ code: 1013, reason: expect.stringMatching(/upgrades/) });
      expect(await refusal(await upgrade(`/rooms/${freshRoom()}/ws`, headers))).toEqual([
        429,
        "too_many_upgrades",
      ]);
    });
  }, 180_000);
});
