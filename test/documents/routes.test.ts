import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { upgrade } from "../client";
import { Peer } from "./peer";

describe("the document route", () => {
  it("answers a request without an upgrade with 426", async () => {
    const response = await exports.default.fetch("http://relay.test/docs/some-doc");
    expect(response.status).toBe(426);
  });

  it("closes a socket for a malformed document name with 4400", async () => {
    const response = await upgrade(`/docs/${"x".repeat(65)}`);
    const peer = new Peer(response.webSocket as WebSocket);
    await peer.until(() => peer.closed !== undefined, "the refusal");
    expect(peer.closed?.code).toBe(4400);
  });
});
