import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { upgrade } from "../../client";
import { freshDoc, Peer } from "../peer";

const SECRET = "test-auth-secret";
const now = () => Math.floor(Date.now() / 1000);

function token(claims: Record<string, unknown>, secret = SECRET) {
  return sign({ exp: now() + 60, ...claims }, secret, "HS256");
}

/** A refused document socket: accepted, then closed at once with a code and reason. */
async function refusal(path: string, headers: Record<string, string> = {}) {
  const response = await upgrade(path, headers);
  expect(response.status).toBe(101);
  const peer = new Peer(response.webSocket as WebSocket);
  await peer.until(() => peer.closed !== undefined, "the refusal");
  expect(peer.frames).toEqual([]);
  return peer.closed;
}

describe("document sockets under AUTH_SECRET and ALLOWED_ORIGINS", () => {
  it("lets a token whose rooms grant names the document in", async () => {
    const name = freshDoc();
    const granted = await token({ sub: "u-ada", rooms: [name] });
    const ada = await Peer.open(name, { query: `?token=${granted}` });
    const bob = await Peer.open(name, { query: `?token=${await token({ sub: "u-bob" })}` });
    ada.insert("authorized");
    await bob.until(() => bob.text === "authorized", "the edit");
  });

  it.each([
    ["no token", async () => ""],
    ["a forged token", async () => token({ sub: "u1" }, "wrong-secret")],
    ["a token without exp", async () => sign({ sub: "u1" }, SECRET, "HS256")],
  ])("closes a socket with %s with 4401", async (_, make) => {
    const closed = await refusal(`/docs/${freshDoc()}?token=${await make()}`);
    expect(closed?.code).toBe(4401);
    expect(closed?.reason).not.toBe("");
  });

  it("closes a socket whose token does not grant the document with 4403", async () => {
    const denied = await token({ sub: "u1", rooms: ["some-other-doc"] });
    const closed = await refusal(`/docs/${freshDoc()}?token=${denied}`);
    expect(closed).toEqual({ code: 4403, reason: expect.stringMatching(/does not open/) });
  });

  it("closes a socket from an origin not on the list with 4403", async () => {
    const ok = await token({ sub: "u1" });
    const closed = await refusal(`/docs/${freshDoc()}?token=${ok}`, {
      Origin: "https://evil.example",
    });
    expect(closed?.code).toBe(4403);
    const name = freshDoc();
    const ada = await Peer.open(name, {
      query: `?token=${ok}`,
      headers: { Origin: "https://app.example" },
    });
    ada.insert("allowed origin");
    await ada.until(() => ada.frames.length > 0, "the document's step 1");
  });
});
