/**
 * Turns the text of one received WebSocket frame into server frames. On an
 * `edge-relay.ndjson` socket one frame may carry several, joined by "\n"; a
 * plain frame never holds a raw newline (JSON.stringify escapes them), so one
 * split serves both.
 */
import type { ServerFrame } from "../src/frames";

/** Every server frame type; a frame type the client does not know fails to compile here. */
const TYPES: Record<ServerFrame["type"], true> = {
  welcome: true,
  join: true,
  leave: true,
  message: true,
  ack: true,
  error: true,
};

/** Every known server frame in the text, in order; unknown or broken lines are skipped. */
export function parseServerFrames(text: string): ServerFrame[] {
  const frames: ServerFrame[] = [];
  for (const line of text.split("\n")) {
    const frame = parseLine(line);
    if (frame) frames.push(frame);
  }
  return frames;
}

function parseLine(line: string): ServerFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || !("type" in value)) return undefined;
  return Object.hasOwn(TYPES, String(value.type)) ? (value as ServerFrame) : undefined;
}
