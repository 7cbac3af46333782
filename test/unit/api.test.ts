/**
 * The server API client (api/) against a fake relay: the requests it builds
 * (path under a mounted base, token, body, query, encoded names), how it
 * reads answers into typed errors, and which calls it repeats. The real
 * relay's answers are checked in test/e2e/api.test.ts.
 */
import { describe, expect, it } from "vitest";
import { ApiFailure, RelayApi, unwrap } from "../../api/index";

type Seen = { method: string; url: string; auth: string | null; body: unknown };

/** A `{ fetch }` that records each request and answers from `answers` in turn (the last repeats). */
function fakeRelay(...answers: (() => Response)[]) {
  const seen: Seen[] = [];
  const service = {
    async fetch(request: Request): Promise<Response> {
      const text = await request.text();
      seen.push({
        method: request.method,
        url: request.url,
        auth: request.headers.get("authorization"),
        body: text ? JSON.parse(text) : undefined,
      });
      const answer = answers[Math.min(seen.length, answers.length) - 1];
      if (!answer) throw new Error("no answer");
      return answer();
    },
  };
  return { seen, service };
}

const json =
  (body: unknown, status = 200) =>
  () =>
    Response.json(body, { status });
const refused = (status: number, code: string, message = "no") =>
  json({ error: { code, message } }, status);
const down = () => {
  throw new TypeError("fetch failed");
};

function api(service: { fetch(request: Request): Promise<Response> }, url?: string) {
  return new RelayApi({ service, url, token: "secret", retryDelay: () => 0 });
}

describe("requests", () => {
  it("go under the base's path with the bearer token, names encoded", async () => {
    const { seen, service } = fakeRelay(json({ closed: 1 }));
    await api(service, "https://relay.example/realtime/").room("a/b").kick({ user: "u" }, "bye");
    expect(seen).toEqual([
      {
        method: "POST",
        url: "https://relay.example/realtime/rooms/a%2Fb/kick",
        auth: "Bearer secret",
        body: { user: "u", reason: "bye" },
      },
    ]);
  });

  it("carry a history or list query, leaving out what is not given", async () => {
    const { seen, service } = fakeRelay(json({ messages: [], next: null }));
    const relay = api(service);
    await relay.room("lobby").history({ since: 5 });
    await relay.rooms({ sort: "occupancy", limit: 3 });
    expect(seen.map((request) => request.url)).toEqual([
      "https://relay.internal/rooms/lobby/history?since=5",
      "https://relay.internal/rooms?sort=occupancy&limit=3",
    ]);
  });

  it("publish under a fresh id when none is given, and answer it", async () => {
    const { seen, service } = fakeRelay(json({ seq: 7 }));
    const sent = unwrap(await api(service).room("lobby").publish({ text: "hi" }));
    const body = seen[0]?.body as { id: string; data: unknown };
    expect(body.data).toEqual({ text: "hi" });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent).toEqual({ seq: 7, id: body.id });
  });
});

describe("answers", () => {
  it("a refusal is a relay error with its status, code and message", async () => {
    const { service } = fakeRelay(refused(401, "unauthorized", "wrong token"));
    const result = await api(service).room("lobby").describe();
    expect(result).toEqual({
      ok: false,
      error: { kind: "relay", status: 401, code: "unauthorized", message: "wrong token" },
    });
  });

  it("an answer not in the relay's shape is unexpected, with the start of its body", async () => {
    const { service } = fakeRelay(() => new Response("<html>not here</html>", { status: 404 }));
    const result = await api(service).rooms();
    expect(result).toEqual({
      ok: false,
      error: { kind: "unexpected", status: 404, message: "HTTP 404: <html>not here</html>" },
    });
  });

  it("no answer at all is a network error carrying what fetch threw", async () => {
    const { service } = fakeRelay(down);
    const result = await new RelayApi({ service, token: "t", retries: 0 }).health();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ kind: "network", message: "fetch failed" });
    expect(result.error.kind === "network" && result.error.cause).toBeInstanceOf(TypeError);
  });

  it("unwrap throws an ApiFailure that carries the typed error", async () => {
    const { service } = fakeRelay(refused(404, "not_found"));
    const result = await api(service).doc("notes").snapshot();
    expect(() => unwrap(result)).toThrow(ApiFailure);
    expect(() => unwrap(result)).toThrow("not_found: no");
  });

  it("a snapshot is the body's bytes", async () => {
    const { service } = fakeRelay(() => new Response(new Uint8Array([1, 2, 3])));
    expect(unwrap(await api(service).doc("notes").snapshot())).toEqual(new Uint8Array([1, 2, 3]));
  });
});

describe("retries", () => {
  it("a publish after a network failure is sent again under the same id", async () => {
    const { seen, service } = fakeRelay(down, json({ seq: 3 }));
    const sent = await api(service).room("lobby").publish("hi", { id: "m1" });
    expect(sent).toEqual({ ok: true, value: { seq: 3, id: "m1" } });
    expect(seen.map((request) => request.body)).toEqual([
      { data: "hi", id: "m1" },
      { data: "hi", id: "m1" },
    ]);
  });

  it("a 5xx is retried up to `retries` times, then answered as it came", async () => {
    const { seen, service } = fakeRelay(refused(500, "internal"));
    const result = await new RelayApi({ service, token: "t", retries: 3, retryDelay: () => 0 })
      .room("lobby")
      .describe();
    expect(seen).toHaveLength(4);
    expect(result.ok || result.error).toMatchObject({ kind: "relay", code: "internal" });
  });

  it("a refusal (4xx) is never retried", async () => {
    const { seen, service } = fakeRelay(refused(400, "bad_room"));
    await api(service).room("lobby").history();
    expect(seen).toHaveLength(1);
  });

  it("kick and ban, whose answers count what they did, are sent once", async () => {
    const { seen, service } = fakeRelay(down);
    const lobby = api(service).room("lobby");
    await lobby.kick({ session: "s1" });
    await lobby.ban("u", 60);
    expect(seen.map((request) => request.url)).toEqual([
      "https://relay.internal/rooms/lobby/kick",
      "https://relay.internal/rooms/lobby/bans",
    ]);
  });
});

describe("construction", () => {
  it("needs a url or a service, which the types say", () => {
    // @ts-expect-error neither a url nor a service
    expect(() => new RelayApi({ token: "t" })).toThrow("give a url or a service");
  });
});
