/**
 * Turns the text of one received WebSocket frame into server frames. On an
 * `edge-relay.ndjson` socket one frame may carry several, joined by "\n"; a
 * plain frame never holds a raw newline (JSON.stringify escapes them), so one
 * split serves both. A frame of a type this client does not handle yet is
 * passed on and ignored there, so a newer relay never breaks an older client.
 */
import type { ServerFrame } from "../src/frames";

/** Every server frame in the text, in order; lines that are not JSON objects with a `type` are skipped. */
export function parseServerFrames<F extends { type: string } = ServerFrame>(text: string): F[] {
  const frames: F[] = [];
  for (const line of text.split("\n")) {
    const frame = parseLine<F>(line);
    if (frame) frames.push(frame);
  }
  return frames;
}

function parseLine<F>(line: string): F | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || !("type" in value)) return undefined;
  return typeof value.type === "string" ? (value as F) : undefined;
}
