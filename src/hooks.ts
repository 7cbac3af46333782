/**
 * What a room's hooks may do, and how the room survives them. A hook is the
 * application's code running inside the room: it may be async, it may throw,
 * and neither may stop the room, lose a frame silently, or reorder a
 * sender's frames.
 */
import type { BroadcastFrame, DirectFrame, FrameErrorCode } from "./frames";
import { log } from "./log";
import type { ProtocolError } from "./protocol";

/** A frame that carries data from one session to others. */
export type Message = BroadcastFrame | DirectFrame;

/** What `onMessage` may answer: nothing (route it as it came), or the frame to route instead. */
export type MessageVerdict = Message | undefined;

/**
 * The codes a hook may refuse a frame with. Anything else it throws, and a
 * Rejection whose code is not one of these (JavaScript, or a cast), reaches
 * its sender as `rejected` and is logged.
 */
export const REJECTION_CODES = [
  "rejected",
  "forbidden",
  "bad_message",
  "too_large",
  "rate_limited",
] as const satisfies readonly FrameErrorCode[];

export type RejectionCode = (typeof REJECTION_CODES)[number];

/**
 * Thrown from `onMessage` to refuse a frame: its sender gets an error frame
 * with this code and message (and the frame's id), and nobody else sees it.
 *
 * @example
 * onMessage(sender: Peer, frame: Message) {
 *   if (frame.type === "broadcast" && sender.user !== "moderator") {
 *     throw new Rejection("forbidden", "only moderators speak here");
 *   }
 * }
 */
export class Rejection extends Error {
  constructor(
    readonly code: RejectionCode = "rejected",
    message = "the room rejected this frame",
  ) {
    super(message);
  }
}

/**
 * Runs `onMessage`, turning a throw or a rejected promise into the error its
 * sender gets. An unexpected error is logged and answered `rejected` without
 * its text, which may hold internals.
 */
export function judge(
  hook: () => MessageVerdict | Promise<MessageVerdict>,
  room: string,
): MessageVerdict | ProtocolError | Promise<MessageVerdict | ProtocolError> {
  try {
    const verdict = hook();
    return verdict instanceof Promise ? verdict.catch((e: unknown) => refusal(e, room)) : verdict;
  } catch (error) {
    return refusal(error, room);
  }
}

/** Runs a hook whose outcome nobody waits for (join, leave); a failure is logged. */
export function notify(hook: () => void | Promise<void>, room: string, name: string): void {
  try {
    const done = hook();
    if (done instanceof Promise) done.catch((error: unknown) => failed(error, room, name));
  } catch (error) {
    failed(error, room, name);
  }
}

/**
 * Keeps one sender's frames in order while hooks are async: a step runs at
 * once when nothing of that sender is pending, else after what is.
 */
export class InOrder {
  private tail: Promise<void> | undefined;

  run(step: () => void | Promise<void>): void {
    if (this.tail) {
      this.track(this.tail.then(step));
      return;
    }
    const done = step();
    if (done instanceof Promise) this.track(done);
  }

  private track(tail: Promise<void>): void {
    this.tail = tail;
    const clear = () => {
      if (this.tail === tail) this.tail = undefined;
    };
    tail.then(clear, clear);
  }
}

function refusal(error: unknown, room: string): ProtocolError {
  if (error instanceof Rejection) {
    if (isRejectionCode(error.code)) return { code: error.code, message: error.message };
    failed(`a Rejection with the unknown code ${String(error.code)}`, room, "onMessage");
    return { code: "rejected", message: error.message };
  }
  failed(error, room, "onMessage");
  return { code: "rejected", message: "the room could not accept this frame" };
}

function isRejectionCode(code: unknown): code is RejectionCode {
  return (REJECTION_CODES as readonly unknown[]).includes(code);
}

function failed(error: unknown, room: string, hook: string): void {
  log("hook_error", { room, hook, error: String(error) });
}
