/**
 * Who may connect and who may use the server API: JWT checks for upgrades
 * (hono/jwt, HS256), the Origin allow-list, and the admin bearer token.
 * Each check answers with the refusal to send, or nothing when it passes.
 */
import { verify } from "hono/jwt";
import { badName, errorResponse, type HttpErrorCode } from "./protocol";

export type Refusal = { status: number; code: HttpErrorCode; message: string };
/**
 * Who a session is. `expires` (milliseconds since the epoch, like every time
 * on the wire) is when its grant ends: the session is told a minute before
 * and closed then, unless it refreshes its token in-band (docs/server.md).
 */
export type Identity = { user: string; name?: string; expires?: number };

const MAX_NAME_CHARS = 64;

/** Browsers send Origin; other clients don't, and are let through. */
export function checkOrigin(origin: string | undefined, allowed: string[]): Refusal | undefined {
  if (origin === undefined || allowed.includes("*") || allowed.includes(origin)) return undefined;
  return { status: 403, code: "forbidden_origin", message: `origin ${origin} is not allowed` };
}

/** Verifies an upgrade's token and that it opens `room`. */
export async function checkToken(
  token: string | undefined,
  secret: string,
  room: string,
): Promise<Identity | Refusal> {
  if (!token) return unauthorized("a token is required");
  let claims: Record<string, unknown>;
  try {
    claims = await verify(token, secret, "HS256");
  } catch {
    return unauthorized("the token is malformed, forged or expired");
  }
  // hono/jwt checks exp only when present; a token without one never expires.
  if (typeof claims.exp !== "number") return unauthorized("the token has no exp");
  const { sub, name, rooms } = claims;
  if (typeof sub !== "string" || sub === "") return unauthorized("the token has no sub");
  if (name !== undefined && (typeof name !== "string" || [...name].length > MAX_NAME_CHARS)) {
    return unauthorized(
      `the token's name must be a string of at most ${MAX_NAME_CHARS} characters`,
    );
  }
  if (rooms !== undefined && !isStringArray(rooms)) {
    return unauthorized("the token's rooms must be a list of room names");
  }
  if (rooms && !rooms.includes("*") && !rooms.includes(room)) {
    return { status: 403, code: "forbidden", message: `the token does not open room ${room}` };
  }
  const expires = claims.exp * 1000;
  return name === undefined ? { user: sub, expires } : { user: sub, name, expires };
}

/** Compares the bearer token with ADMIN_TOKEN in constant time. */
export async function checkAdmin(
  authorization: string | undefined,
  adminToken: string | undefined,
): Promise<Refusal | undefined> {
  const given = authorization?.match(/^Bearer (.+)$/)?.[1];
  if (adminToken && given && (await sameSecret(given, adminToken))) return undefined;
  return unauthorized("a valid admin bearer token is required");
}

/**
 * The server API's first checks, in its fixed order: the admin bearer token,
 * then the name in the path (if any; `what` says whose). A Response refuses.
 */
export async function guardAdmin(
  authorization: string | undefined,
  adminToken: string | undefined,
  name?: { name: string; what: string },
): Promise<Response | undefined> {
  const refusal = await checkAdmin(authorization, adminToken);
  if (refusal) return errorResponse(refusal.status, refusal.code, refusal.message);
  return name && badName(name.name, name.what);
}

export function isRefusal<T extends object>(value: T | Refusal): value is Refusal {
  return "status" in value;
}

/** Hashing first gives equal lengths, so timingSafeEqual leaks nothing. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [x, y] = await Promise.all(
    [a, b].map((s) => crypto.subtle.digest("SHA-256", encoder.encode(s))),
  );
  return crypto.subtle.timingSafeEqual(x as ArrayBuffer, y as ArrayBuffer);
}

function unauthorized(message: string): Refusal {
  return { status: 401, code: "unauthorized", message };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
