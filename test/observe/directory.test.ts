import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DIRECTORY_NAME, Directory } from "../../src/observe/directory";
import { REPORT_MS } from "../../src/observe/reporter";
import { freezeClock, freshRoom, join, SHARDED } from "../client";
import { freshDoc, Peer } from "../documents/peer";
import { countOf, list, listRequest, until } from "./list";

const directory = () => env.DIRECTORY.getByName(DIRECTORY_NAME);

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("the directory lists who is live", () => {
  it("lists a room once someone joins, and not once the last one left", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    await until(async () => (await countOf("/rooms", room)) === 1, "room listed");
    const bob = await join(room, "bob");
    // Past the trust window the list asks the room for the count it did not tell.
    freezeClock().advance(REPORT_MS);
    expect(await countOf("/rooms", room)).toBe(2);
    ada.client.close();
    bob.client.close();
    await until(async () => (await countOf("/rooms", room)) === 0, "room unlisted");
  });

  it("is told at once of occupied and vacated, and of counts in between at most every REPORT_MS", async () => {
    const reports = vi.spyOn(Directory.prototype, "report");
    const room = freshRoom();
    const told = () => reports.mock.calls.filter(([, name]) => name === room).map(([, , n]) => n);
    const clock = freezeClock();
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push((await join(room, `p${i}`)).client);
    for (const client of clients.slice(0, 4)) client.send({ type: "broadcast", data: "hi" });
    await clients[4]?.next("message", (m) => m.data === "hi");
    // The four joins after the first were not told, and the list trusts what it has.
    expect(await countOf("/rooms", room)).toBe(1);
    clock.advance(REPORT_MS);
    expect(await countOf("/rooms", room)).toBe(5);
    for (const client of clients) client.close();
    await until(async () => (await countOf("/rooms", room)) === 0, "room unlisted");
    // The first leave came REPORT_MS after the last report; the next three were not told.
    expect(told()).toEqual([1, 4, 0]);
  });

  it("lists documents by their open sockets", async () => {
    const name = freshDoc();
    const first = await Peer.open(name);
    const second = await Peer.open(name);
    await until(async () => (await countOf("/docs", name)) > 0, "document listed");
    freezeClock().advance(REPORT_MS);
    expect(await countOf("/docs", name)).toBe(2);
    expect(await countOf("/rooms", name)).toBe(0);
    first.ws.close();
    second.ws.close();
    await until(async () => (await countOf("/docs", name)) === 0, "document unlisted");
  });

  it("keeps a hibernated room listed with its members", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    await join(room, "bob");
    await until(async () => (await countOf("/rooms", room)) === 1, "room listed");
    await evictDurableObject(env.ROOMS.getByName(room));
    // Past the trust window, the list asks the room, which wakes with both sockets.
    const clock = freezeClock();
    clock.advance(REPORT_MS + 1);
    expect(await countOf("/rooms", room)).toBe(2);
    vi.useRealTimers();
    // Woken, the room tells its next change at once.
    ada.client.close();
    await until(async () => (await countOf("/rooms", room)) === 1, "count of 1");
  });

  it("drops a room that died without telling, once the trust window passed", async () => {
    const room = freshRoom();
    // What a restart leaves: the directory's word for a room whose object holds nobody.
    await directory().report("room", room, 3);
    expect(await countOf("/rooms", room)).toBe(3);
    const clock = freezeClock();
    clock.advance(REPORT_MS + 1);
    expect(await countOf("/rooms", room)).toBe(0);
    vi.useRealTimers();
    const page = await directory().list({ kind: "room", prefix: room, sort: "name", limit: 10 });
    expect(page.entries).toEqual([]);
  });

  // Closes the room object's own sockets, which a sharded room does not hold.
  it.skipIf(SHARDED)("drops a room whose sockets a restart closed", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    await until(async () => (await countOf("/rooms", room)) === 1, "room listed");
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });
    await ada.client.until(() => ada.client.closed !== undefined, "close");
    const clock = freezeClock();
    clock.advance(REPORT_MS + 1);
    expect(await countOf("/rooms", room)).toBe(0);
  });

  it("a report that overtakes a list's check is not undone by it", async () => {
    const room = freshRoom();
    await directory().report("room", room, 2);
    const [entry] = (await directory().list({ kind: "room", prefix: room, sort: "name", limit: 1 }))
      .entries;
    await directory().report("room", room, 4);
    // The check read the room before the report: it must not write its stale count.
    await directory().confirm("room", [{ name: room, version: entry?.version ?? 0, count: 0 }]);
    expect(await countOf("/rooms", room)).toBe(4);
    await directory().report("room", room, 0);
  });
});

describe("GET /rooms", () => {
  it("answers a total that sums the very entries it lists, checked ones included", async () => {
    const prefix = freshRoom();
    // The directory hears a = 1 and b = 1; the counts in between are not told within REPORT_MS.
    for (let i = 0; i < 3; i++) await join(`${prefix}-a`, `p${i}`);
    await join(`${prefix}-b`, "q0");
    await until(async () => (await list("/rooms", { prefix })).total.entries === 2, "both rooms");
    freezeClock().advance(REPORT_MS);

    const listed = await list("/rooms", { prefix });
    expect(listed.entries.map((e) => [e.name, e.count])).toEqual([
      [`${prefix}-a`, 3],
      [`${prefix}-b`, 1],
    ]);
    expect(listed.total).toEqual({ entries: 2, members: 4 });
  });

  it("filters by prefix, sorts by name or occupancy, and pages with a cursor", async () => {
    const prefix = freshRoom();
    const sizes = { a: 1, b: 3, c: 2 } as const;
    for (const [suffix, size] of Object.entries(sizes)) {
      for (let i = 0; i < size; i++) await join(`${prefix}-${suffix}`, `p${i}`);
    }
    const listed = async () => (await list("/rooms", { prefix })).total.entries === 3;
    await until(listed, "all three rooms");
    // Past the trust window a list checks each room's count, and keeps what it found.
    freezeClock().advance(REPORT_MS);
    await list("/rooms", { prefix });

    const first = await list("/rooms", { prefix, sort: "occupancy", limit: 2 });
    expect(first.entries.map((e) => [e.name, e.count])).toEqual([
      [`${prefix}-b`, 3],
      [`${prefix}-c`, 2],
    ]);
    expect(first.total).toEqual({ entries: 3, members: 6 });
    const second = await list("/rooms", {
      prefix,
      sort: "occupancy",
      limit: 2,
      cursor: first.next ?? "",
    });
    expect(second.entries.map((e) => e.name)).toEqual([`${prefix}-a`]);
    expect(second.next).toBeNull();

    const byName = await list("/rooms", { prefix, limit: 2 });
    expect(byName.entries.map((e) => e.name)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    const rest = await list("/rooms", { prefix, limit: 2, cursor: byName.next ?? "" });
    expect(rest.entries.map((e) => e.name)).toEqual([`${prefix}-c`]);
    expect((await list("/rooms", { prefix: `${prefix}-b` })).entries).toHaveLength(1);
  });

  it("answers 401 without the admin token", async () => {
    expect((await listRequest("/rooms", {}, null)).status).toBe(401);
    expect((await listRequest("/docs", {}, "wrong")).status).toBe(401);
  });

  it.each<Record<string, string | number>>([
    { sort: "size" },
    { limit: 0 },
    { limit: "ten" },
    { prefix: "no/slash" },
    { sort: "occupancy", cursor: "not-a-cursor" },
  ])("answers 400 to %o", async (query) => {
    const response = await listRequest("/rooms", query);
    expect(response.status).toBe(400);
  });
});
