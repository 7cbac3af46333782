/**
 * What the Worker tells a room about a new connection: everything it checked
 * (room, name, client id, resume point, the identity `authorize` gave, the
 * client's address), carried to the Durable Object as query parameters of
 * the forwarded upgrade, and read back there. Both directions live here so
 * they cannot disagree.
 */

export type Hello = {
  room: string;
  name: string;
  user?: string;
  /** When the session's grant ends, in ms since the epoch (`Identity.expires`). */
  expires?: number;
  client?: string;
  since?: number;
  epoch?: string;
  /** The client's address, for sessions without a token; never shown to peers. */
  address?: string;
};

/** The upgrade as the room receives it: the client's request, with the hello in its URL. */
export function toRoom(hello: Hello, upgrade: Request): Request {
  const target = new URL("https://room/connect");
  for (const [key, value] of Object.entries(hello)) {
    if (value !== undefined) target.searchParams.set(key, String(value));
  }
  return new Request(target, upgrade);
}

/** The hello a room reads back from the forwarded upgrade. */
export function helloFrom(url: URL): Hello {
  const param = (key: string) => url.searchParams.get(key) ?? undefined;
  const since = param("since");
  const expires = param("expires");
  return {
    room: param("room") ?? "",
    name: param("name") ?? "",
    user: param("user"),
    expires: expires === undefined ? undefined : Number(expires),
    client: param("client"),
    since: since === undefined ? undefined : Number(since),
    epoch: param("epoch"),
    address: param("address"),
  };
}

/** Message ids are scoped per user, else per client, else per session. */
export function scopeOf(hello: Hello, session: string): string {
  if (hello.user !== undefined) return `user:${hello.user}`;
  if (hello.client !== undefined) return `client:${hello.client}`;
  return `session:${session}`;
}

/** Whether the upgrade offered a WebSocket subprotocol. */
export function offers(request: Request, protocol: string): boolean {
  const offered = request.headers.get("Sec-WebSocket-Protocol") ?? "";
  return offered.split(",").some((item) => item.trim() === protocol);
}
