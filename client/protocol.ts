/**
 * The relay's wire frames as a client sees them (docs/protocol.md). Declared
 * here rather than imported from src/ so the client carries no server code
 * and no Cloudflare types.
 */

export type Peer = { id: string; name: string; user?: string };

/** Why a resume could not replay what was missed (docs/protocol.md, recovery). */
export type GapReason = "epoch_changed" | "too_many" | "expired";

export type WelcomeFrame = {
  type: "welcome";
  id: string;
  room: string;
  peers: Peer[];
  seq?: number;
  epoch?: string;
  recovered?: boolean;
  reason?: GapReason;
};

export type MessageFrame = {
  type: "message";
  from: string;
  to?: string;
  data: unknown;
  ts: number;
  seq?: number;
};

export type AckFrame = { type: "ack"; id: string; seq?: number; duplicate?: boolean };

export type ErrorFrame = { type: "error"; code: string; message: string; id?: string };

export type ServerFrame =
  | WelcomeFrame
  | { type: "join"; peer: Peer }
  | { type: "leave"; peer: Peer }
  | MessageFrame
  | AckFrame
  | ErrorFrame;

export type OutgoingFrame =
  | { type: "broadcast"; data: unknown; id: string }
  | { type: "direct"; to: string; data: unknown; id: string };

const TYPES = new Set(["welcome", "join", "leave", "message", "ack", "error"]);

/** Parses a text frame; anything that is not a known server frame is ignored. */
export function parseServerFrame(text: string): ServerFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || !("type" in value)) return undefined;
  return TYPES.has(String(value.type)) ? (value as ServerFrame) : undefined;
}
