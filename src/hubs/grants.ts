/**
 * Who may subscribe a multiplexed connection to a room: the same `authorize`
 * that decides an upgrade into it. A hub runs in the Worker's own script, so
 * `relay()`, called as the module loads, leaves its `authorize` here for the
 * hubs of that isolate; a Worker that never called it gets the built-in JWT
 * check. `authorize` sees a request like the room's upgrade would be: the
 * room's path, `?token=` (the subscribe's grant), `?name=` and `?client=`,
 * and the connection's Origin. Other headers of the upgrade (cookies) are
 * not kept across hibernation, so a grant travels as the token.
 */
import { checkToken, type Identity, isRefusal } from "../auth";
import { secret } from "../config";
import type { FrameErrorCode } from "../protocol";

/** The shape of `relay()`'s `authorize` (src/relay.ts), with the env it is given. */
type Authorize = (
  request: Request,
  env: never,
  room: string,
) => Identity | Response | undefined | Promise<Identity | Response | undefined>;

let registered: Authorize | undefined;

/** Called by `relay()`: subscriptions in this isolate are decided by `authorize`. */
export function decideSubscriptionsWith(authorize: Authorize): void {
  registered = authorize;
}

/** What a subscribe carries besides its room, and who the connection is. */
export type Asking = {
  room: string;
  token?: string;
  name: string;
  client?: string;
  origin?: string;
};

/** A refused subscribe, as the error frame that answers it. */
export type Denial = { code: FrameErrorCode; message: string };

/** The identity a subscription gets, nothing for an anonymous one, or why it is refused. */
export async function grant(env: object, asking: Asking): Promise<Identity | undefined | Denial> {
  if (!registered) return builtIn(env, asking);
  let answer: Identity | Response | undefined;
  try {
    answer = await registered(requestOf(asking), env as never, asking.room);
  } catch {
    return { code: "internal", message: "authorize failed" };
  }
  return answer instanceof Response ? denialOf(answer) : answer;
}

/** The built-in check, as `jwt()` does it: a token only when `AUTH_SECRET` is set. */
async function builtIn(env: object, asking: Asking): Promise<Identity | undefined | Denial> {
  const key = secret(env, "AUTH_SECRET");
  if (!key) return undefined;
  const identity = await checkToken(asking.token, key, asking.room);
  if (!isRefusal(identity)) return identity;
  return {
    code: identity.status === 403 ? "forbidden" : "unauthorized",
    message: identity.message,
  };
}

function requestOf({ room, token, name, client, origin }: Asking): Request {
  const url = new URL(`https://hub.invalid/rooms/${room}/ws`);
  for (const [key, value] of Object.entries({ token, name, client })) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  return new Request(url, { headers: origin === undefined ? {} : { origin } });
}

/** A Response `authorize` refused with: a code by its status, and its JSON error's message if it has one. */
async function denialOf(response: Response): Promise<Denial> {
  const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
  const error = body?.error;
  const said =
    typeof error === "object" && error !== null ? (error as { message?: unknown }).message : error;
  const { status } = response;
  const code = status === 401 ? "unauthorized" : status === 403 ? "forbidden" : "rejected";
  return { code, message: typeof said === "string" ? said : `refused with status ${status}` };
}
