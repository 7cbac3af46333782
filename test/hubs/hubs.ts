/**
 * Helpers for multiplexed connections (`GET /ws`): the workerd-hubs projects
 * run one hub (HUB_COUNT 1), so every connection of a test shares it.
 */
import { exports } from "cloudflare:workers";
import type { ServerFrame } from "../../src/protocol";
import { TestClient, upgrade, type Welcome } from "../client";

/** A frame as a multiplexed connection receives it. */
export type Named = { room?: string; type: string; [key: string]: unknown };

/** Opens a multiplexed connection. */
export async function connectHub(
  query: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<TestClient> {
  const params = new URLSearchParams(query);
  const response = await upgrade(`/ws${params.size ? `?${params}` : ""}`, headers);
  if (response.status !== 101 || !response.webSocket) {
    throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
  }
  return new TestClient(response.webSocket);
}

/** The frames a connection received of one room (or of none), in order. */
export function framesIn(client: TestClient, room: string | undefined): Named[] {
  return (client.frames as unknown as Named[]).filter((frame) => frame.room === room);
}

/** Waits for a frame of `type` in `room` that `match` accepts. */
export async function nextIn(
  client: TestClient,
  room: string | undefined,
  type: string,
  match: (frame: Named) => boolean = () => true,
): Promise<Named> {
  const found = () => framesIn(client, room).find((f) => f.type === type && match(f));
  await client.until(() => found() !== undefined, `a ${type} frame in ${room}`);
  return found() as Named;
}

/** Subscribes and waits for the room's welcome. */
export async function subscribe(
  client: TestClient,
  room: string,
  extra: Record<string, unknown> = {},
): Promise<Welcome> {
  client.send({ type: "subscribe", room, ...extra });
  return (await nextIn(client, room, "welcome")) as unknown as Welcome;
}

/** The seqs of the broadcasts a connection received in `room`. */
export function seqsIn(client: TestClient, room: string): number[] {
  return framesIn(client, room)
    .filter((f) => f.type === "message" && typeof f.seq === "number")
    .map((f) => f.seq as number);
}

/** Publishes `count` broadcasts into `room` through the server API. */
export async function publish(room: string, count: number, prefix = "m"): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await exports.default.fetch(`http://relay.test/rooms/${room}/messages`, {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token" },
      body: JSON.stringify({ data: `${prefix}${i}` }),
    });
    if (!response.ok) throw new Error(`publish refused: ${response.status}`);
  }
}

export type { ServerFrame };
