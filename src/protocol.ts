/**
 * The wire protocol, written once: the frames clients send and receive, the
 * one parser that turns a raw frame into a typed message or a protocol error,
 * and the error codes shared by HTTP responses and error frames.
 * See docs/protocol.md for the reference a client author reads.
 */
import * as v from "valibot";
import type {
  ClientFrame,
  FrameErrorCode,
  HttpErrorCode,
  HubClientFrame,
  Json,
  ServerFrame,
  SubscribeFrame,
  UnsubscribeFrame,
} from "./frames";

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

/** A multiplexed connection's subscribe and unsubscribe (the room name is checked first). */
const HubControlSchema: v.GenericSchema<unknown, SubscribeFrame | UnsubscribeFrame> = v.variant(
  "type",
  [
    v.object({
      type: v.literal("subscribe"),
      room: v.string(),
      since: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
      epoch: v.optional(v.pipe(v.string(), v.maxLength(64))),
      token: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TOKEN_CHARS))),
    }),
    v.object({ type: v.literal("unsubscribe"), room: v.string() }),
  ],
);

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

/** A failed parse: the error to answer with. */
type Failed = { ok: false; error: ProtocolError };

/** Turns one raw WebSocket frame into a typed client frame or a protocol error. */
export function parseClientFrame(raw: string | ArrayBuffer, maxBytes: number): Parsed {
  return parseOne(raw, maxBytes, parseText);
}

/**
 * Turns a frame of an `edge-relay.ndjson` socket into one result per line, in
 * order, so each line is answered as if it had come alone. The byte limit is
 * the whole frame's; lines past `MAX_BATCH_FRAMES` are refused one by one.
 */
export function parseClientBatch(raw: string | ArrayBuffer, maxBytes: number): Parsed[] {
  return parseBatch(raw, maxBytes, parseText);
}

/** A frame of a multiplexed connection (`GET /ws`); an error names the frame's room when it had one. */
export type HubParsed =
  | { ok: true; frame: HubClientFrame; text: string }
  | { ok: false; error: ProtocolError & { room?: string } };

/** The frames of one multiplexed connection's WebSocket frame, one result per line, as `parseClientBatch`. */
export function parseHubFrames(
  raw: string | ArrayBuffer,
  maxBytes: number,
  batched: boolean,
): HubParsed[] {
  return batched
    ? parseBatch(raw, maxBytes, parseHubText)
    : [parseOne(raw, maxBytes, parseHubText)];
}

function parseOne<P>(
  raw: string | ArrayBuffer,
  maxBytes: number,
  line: (text: string) => P | Failed,
) {
  const bytes = typeof raw === "string" ? utf8Length(raw) : raw.byteLength;
  if (typeof raw !== "string") {
    return bytes > maxBytes
      ? oversized(bytes, maxBytes)
      : fail("bad_message", "binary frames are not accepted; send JSON text");
  }
  return bytes > maxBytes ? oversized(bytes, maxBytes, raw) : line(raw);
}

function parseBatch<P>(
  raw: string | ArrayBuffer,
  maxBytes: number,
  line: (text: string) => P | Failed,
): (P | Failed)[] {
  if (typeof raw !== "string" || !raw.includes("\n")) return [parseOne(raw, maxBytes, line)];
  const lines = raw.split("\n").filter((text) => text !== "");
  if (lines.length === 0) return [fail("bad_json", "frame holds only empty lines")];
  const bytes = utf8Length(raw);
  if (bytes > maxBytes) return lines.map((text) => oversized(bytes, maxBytes, text));
  return lines.map((text, index) =>
    index < MAX_BATCH_FRAMES
      ? line(text)
      : fail(
          "too_large",
          `a frame carries at most ${MAX_BATCH_FRAMES} frames`,
          idOf(parseJson(text)),
        ),
  );
}

/**
 * A frame over the limit, answered with the id of `text` when it has one.
 * Reading the id of a far larger frame would cost more than it deserves.
 */
function oversized(bytes: number, maxBytes: number, text?: string): Failed {
  const message = `frame is ${bytes} bytes; the limit is ${maxBytes}`;
  const readId = text !== undefined && bytes <= 4 * maxBytes;
  return fail("too_large", message, readId ? idOf(parseJson(text)) : undefined);
}

/** One JSON text, already within the size limit. */
function parseText(text: string): Parsed {
  const json = parseJson(text);
  if (!json.ok) return fail("bad_json", "frame is not valid JSON");
  return checkFrame(json.value, idOf(json));
}

function checkFrame(value: unknown, id: string | undefined): Parsed {
  const result = v.safeParse(ClientFrameSchema, value);
  if (result.success) return { ok: true, frame: result.output };
  return fail("bad_message", describe(result.issues[0]), id);
}

/** One line of a multiplexed connection: a (un)subscribe, or a room frame naming its room. */
function parseHubText(text: string): HubParsed {
  const json = parseJson(text);
  if (!json.ok) return fail("bad_json", "frame is not valid JSON");
  const id = idOf(json);
  const room = roomOf(json.value);
  if (room === undefined)
    return fail("bad_message", 'name the frame\'s room: "room": "<name>"', id);
  const named = (parsed: Failed) => ({ ok: false as const, error: { ...parsed.error, room } });
  const type = (json.value as { type?: unknown }).type;
  if (type === "subscribe" || type === "unsubscribe") {
    if (!SAFE_NAME.test(room)) return named(fail("bad_room", `room names are ${SAFE_NAME_RULE}`));
    const result = v.safeParse(HubControlSchema, json.value);
    if (!result.success) return named(fail("bad_message", describe(result.issues[0])));
    return { ok: true, frame: result.output, text };
  }
  const parsed = checkFrame(json.value, id);
  return parsed.ok ? { ok: true, frame: { ...parsed.frame, room }, text } : named(parsed);
}

function roomOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { room } = value as { room?: unknown };
  return typeof room === "string" ? room : undefined;
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

function fail(code: FrameErrorCode, message: string, id?: string): Failed {
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
