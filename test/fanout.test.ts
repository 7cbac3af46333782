import { describe, expect, it } from "vitest";
import { freshRoom, join, type TestClient } from "./client";

describe("a 50-client room", () => {
  it("delivers every broadcast to all 49 others, in per-sender order", async () => {
    const room = freshRoom();
    const clients: { client: TestClient; id: string }[] = [];
    for (let i = 0; i < 50; i++) {
      const { client, welcome } = await join(room, `c${i}`);
      clients.push({ client, id: welcome.id });
    }
    const perSender = 5;
    for (let n = 0; n < perSender; n++) {
      for (const { client } of clients) client.send({ type: "broadcast", data: n });
    }
    const expected = 49 * perSender;
    for (const { client, id } of clients) {
      // A generous deadline: 2,450 deliveries on a shared machine.
      await client.until(() => client.all("message").length >= expected, "all broadcasts", 20_000);
      const messages = client.all("message");
      expect(messages).toHaveLength(expected);
      expect(messages.some((m) => m.from === id)).toBe(false);
      const bySender = new Map<string, unknown[]>();
      for (const m of messages) bySender.set(m.from, [...(bySender.get(m.from) ?? []), m.data]);
      expect(bySender.size).toBe(49);
      for (const sequence of bySender.values()) expect(sequence).toEqual([0, 1, 2, 3, 4]);
    }
  }, 30_000);
});
