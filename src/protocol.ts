/**
 * The wire protocol, written once: the frames clients send and receive, the
 * one parser that turns a raw frame into a typed message or a protocol error,
 * and the error codes shared by HTTP responses and error frames.
 * See docs/protocol.md for the reference a client author reads.
 */
import * as v from "valibot";

export type Peer = { id: string; name: string };

// ---- client to server ----------------------------------------------------

const ClientFrame = v.variant("type", [
  v.object({ type: v.literal("broadcast"), data: v.unknown() }),
  v.object({ type: v.literal("direct"), to: v.string(), data: v.unknown() }),
]);

export type ClientFrame = v.InferOutput<typeof ClientFrame>;

// ---- server to client ----------------------------------------------------

export type ServerFrame =
  | { type: "welcome"; id: string; room: string; peers: Peer[] }
  | { type: "join"; peer: Peer }
  | { type: "leave"; peer: Peer }
  | { type: "message"; from: string; to?: string; data: unknown; ts: number }
  | { type: "error"; code: FrameErrorCode; message: string };

// ---- errors ----------------------------------------------------------------

/** Codes of error frames; the connection stays open after each. */
export type FrameErrorCode = "bad_json" | "bad_message" | "too_large" | "unknown_recipient";

/** Codes of refused HTTP requests. */
export type HttpErrorCode =
  | "bad_room"
  | "bad_name"
  | "upgrade_required"
  | "room_full"
  | "not_found"
  | "internal";

export type ProtocolError = { code: FrameErrorCode; message: string };

export function errorFrame(error: ProtocolError): string {
  return encode({ type: "error", ...error });
}

export function errorResponse(status: number, code: HttpErrorCode, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

// ---- parsing and encoding ------------------------------------------------

export type Parsed = { ok: true; frame: ClientFrame } | { ok: false; error: ProtocolError };

/** Turns one raw WebSocket frame into a typed client frame or a protocol error. */
export function parseClientFrame(raw: string | ArrayBuffer, maxBytes: number): Parsed {
  const bytes = typeof raw === "string" ? utf8Length(raw) : raw.byteLength;
  if (bytes > maxBytes) {
    return fail("too_large", `frame is ${bytes} bytes; the limit is ${maxBytes}`);
  }
  if (typeof raw !== "string") {
    return fail("bad_message", "binary frames are not accepted; send JSON text");
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return fail("bad_json", "frame is not valid JSON");
  }
  const result = v.safeParse(ClientFrame, json);
  if (result.success) return { ok: true, frame: result.output };
  return fail("bad_message", describe(result.issues[0]));
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

function fail(code: FrameErrorCode, message: string): Parsed {
  return { ok: false, error: { code, message } };
}

function describe(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((item) => String(item.key)).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** The frame's size on the wire, counted without allocating a copy. */
function utf8Length(text: string): number {
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
