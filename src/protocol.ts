/**
 * The wire protocol, written once: the frames clients send and receive, the
 * one parser that turns a raw frame into a typed message or a protocol error,
 * and the error codes shared by HTTP responses and error frames.
 * See docs/protocol.md for the reference a client author reads.
 */
import * as v from "valibot";
import type { ClientFrame, FrameErrorCode, HttpErrorCode, Json, ServerFrame } from "./frames";

export type * from "./frames";
export { CLOSE_CODES, NDJSON_PROTOCOL } from "./frames";

/** Room names and client ids: 1 to 64 characters of one URL-safe alphabet. */
export const SAFE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
export const SAFE_NAME_RULE = "1-64 characters of A-Z a-z 0-9 . _ -";

// ---- client to server ----------------------------------------------------

/** A client's id for one message, so it can be acknowledged and deduplicated. */
const MessageId = v.pipe(v.string(), v.minLength(1), v.maxLength(64));

/** Longer than any sane JWT, short enough that a refresh never fills a frame. */
const MAX_TOKEN_CHARS = 8192;

/** Checked against `frames.ts`: the schema's output must be a ClientFrame. */
const ClientFrameSchema: v.GenericSchema<unknown, ClientFrame> = v.variant("type", [
  v.object({ type: v.literal("broadcast"), data: v.unknown(), id: v.optional(MessageId) }),
  v.object({
    type: v.literal("direct"),
    to: v.string(),
    data: v.unknown(),
    id: v.optional(MessageId),
  }),
  v.object({
    type: v.literal("presence"),
    // Parsed from JSON text, so any value present is JSON.
    state: v.custom<Json>((value) => value !== undefined, "state is required"),
    id: v.optional(MessageId),
  }),
  v.object({
    type: v.literal("refresh"),
    token: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TOKEN_CHARS)),
    id: v.optional(MessageId),
  }),
]);

/** The largest presence state, serialized; it lives in the socket's attachment (16 KiB in all). */
export const MAX_PRESENCE_BYTES = 2048;

/** The body of `POST /rooms/:room/messages`. */
const ServerPublish = v.object({
  data: v.unknown(),
  to: v.optional(v.string()),
  id: v.optional(MessageId),
});

export type ServerPublish = v.InferOutput<typeof ServerPublish>;

// ---- errors ----------------------------------------------------------------

export type ProtocolError = { code: FrameErrorCode; message: string; id?: string };

export function errorFrame(error: ProtocolError): string {
  return encode({ type: "error", ...error });
}

export function errorResponse(
  status: number,
  code: HttpErrorCode | FrameErrorCode,
  message: string,
): Response {
  return Response.json({ error: { code, message } }, { status });
}

/** A 400 for a name in a path that is not a safe name; `what` says whose ("room names"). */
export function badName(name: string, what: string): Response | undefined {
  if (!SAFE_NAME.test(name)) return errorResponse(400, "bad_room", `${what} are ${SAFE_NAME_RULE}`);
}

// ---- parsing and encoding ------------------------------------------------

export type Parsed = { ok: true; frame: ClientFrame } | { ok: false; error: ProtocolError };

/** Client frames one batch may carry on an `edge-relay.ndjson` socket; also the outgoing cap. */
export const MAX_BATCH_FRAMES = 100;

/** Turns one raw WebSocket frame into a typed client frame or a protocol error. */
export function parseClientFrame(raw: string | ArrayBuffer, maxBytes: number): Parsed {
  const bytes = typeof raw === "string" ? utf8Length(raw) : raw.byteLength;
  if (typeof raw !== "string") {
    return bytes > maxBytes
      ? oversized(bytes, maxBytes)
      : fail("bad_message", "binary frames are not accepted; send JSON text");
  }
  return bytes > maxBytes ? oversized(bytes, maxBytes, raw) : parseText(raw);
}

/**
 * Turns a frame of an `edge-relay.ndjson` socket into one result per line, in
 * order, so each line is answered as if it had come alone. The byte limit is
 * the whole frame's; lines past `MAX_BATCH_FRAMES` are refused one by one.
 */
export function parseClientBatch(raw: string | ArrayBuffer, maxBytes: number): Parsed[] {
  if (typeof raw !== "string" || !raw.includes("\n")) return [parseClientFrame(raw, maxBytes)];
  const lines = raw.split("\n").filter((line) => line !== "");
  if (lines.length === 0) return [fail("bad_json", "frame holds only empty lines")];
  const bytes = utf8Length(raw);
  if (bytes > maxBytes) return lines.map((line) => oversized(bytes, maxBytes, line));
  return lines.map((line, index) =>
    index < MAX_BATCH_FRAMES
      ? parseText(line)
      : fail(
          "too_large",
          `a frame carries at most ${MAX_BATCH_FRAMES} frames`,
          idOf(parseJson(line)),
        ),
  );
}

/**
 * A frame over the limit, answered with the id of `text` when it has one.
 * Reading the id of a far larger frame would cost more than it deserves.
 */
function oversized(bytes: number, maxBytes: number, text?: string): Parsed {
  const message = `frame is ${bytes} bytes; the limit is ${maxBytes}`;
  const readId = text !== undefined && bytes <= 4 * maxBytes;
  return fail("too_large", message, readId ? idOf(parseJson(text)) : undefined);
}

/** One JSON text, already within the size limit. */
function parseText(text: string): Parsed {
  const json = parseJson(text);
  if (!json.ok) return fail("bad_json", "frame is not valid JSON");
  const result = v.safeParse(ClientFrameSchema, json.value);
  if (result.success) return { ok: true, frame: result.output };
  return fail("bad_message", describe(result.issues[0]), idOf(json));
}

/** Parses a server API publish body, with the same error codes as frames. */
export function parseServerPublish(
  text: string,
): { ok: true; body: ServerPublish } | { ok: false; error: ProtocolError } {
  const json = parseJson(text);
  if (!json.ok)
    return { ok: false, error: { code: "bad_json", message: "body is not valid JSON" } };
  const result = v.safeParse(ServerPublish, json.value);
  if (result.success) return { ok: true, body: result.output };
  return { ok: false, error: { code: "bad_message", message: describe(result.issues[0]) } };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The frame's own `id`, when it has a usable one, so its error can name it. */
function idOf(json: { ok: true; value: unknown } | { ok: false }): string | undefined {
  if (!json.ok) return undefined;
  const { value } = json;
  if (typeof value !== "object" || value === null || !Object.hasOwn(value, "id")) return undefined;
  const result = v.safeParse(MessageId, (value as { id: unknown }).id);
  return result.success ? result.output : undefined;
}

/**
 * Serializes a frame for the wire. Data from a client can be nested too deeply
 * to serialize again; that is the client's error, reported as bad_message.
 */
export function encode(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

export function tryEncode(frame: ServerFrame): string | ProtocolError {
  try {
    return encode(frame);
  } catch {
    return { code: "bad_message", message: "data is nested too deeply to relay" };
  }
}

function fail(code: FrameErrorCode, message: string, id?: string): Parsed {
  return { ok: false, error: id === undefined ? { code, message } : { code, message, id } };
}

function describe(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((item) => String(item.key)).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** The frame's size on the wire, counted without allocating a copy. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (isPair(text, i)) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** A surrogate pair is two UTF-16 units and four UTF-8 bytes. */
function isPair(text: string, i: number): boolean {
  const hi = text.charCodeAt(i);
  const lo = text.charCodeAt(i + 1);
  return hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff;
}
