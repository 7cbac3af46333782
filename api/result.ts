/**
 * What every call of the server API client answers: a value, or an error
 * that names its cause. The repository's one convention for "a value or an
 * error" is `{ ok: true, ... } | { ok: false, error }` (src/protocol.ts);
 * the client follows it, so a backend checks `ok` and never catches.
 */
import type { FrameErrorCode, HttpErrorCode } from "../src/frames";

/** The codes the relay answers a refused request with: HTTP codes, and frame codes from publish. */
export type ApiErrorCode = HttpErrorCode | FrameErrorCode;

/**
 * Why a call failed.
 * - `relay`: the relay answered `{"error":{"code","message"}}` with `status`
 *   (a wrong token is `unauthorized`, a bad name `bad_room`, ...; docs/protocol.md).
 * - `network`: no answer came (DNS, a refused connection, an abort); `cause` is what `fetch` threw.
 * - `unexpected`: an answer that is not the relay's (a wrong base URL, a proxy's error page);
 *   `message` holds the start of its body.
 */
export type ApiError =
  | { kind: "relay"; status: number; code: ApiErrorCode; message: string }
  | { kind: "network"; message: string; cause: unknown }
  | { kind: "unexpected"; status: number; message: string };

/**
 * A call's answer: `{ ok: true, value }` or `{ ok: false, error }`.
 *
 * @example
 * const result = await api.room("lobby").describe();
 * if (!result.ok) return console.error(result.error.kind, result.error.message);
 * console.log(result.value.connections);
 */
export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/**
 * The value of a result, or a throw of an `ApiFailure` carrying its error,
 * for code that would rather throw.
 *
 * @example
 * const { seq } = unwrap(await api.room("lobby").publish({ text: "hi" }));
 */
export function unwrap<T>(result: ApiResult<T>): T {
  if (result.ok) return result.value;
  throw new ApiFailure(result.error);
}

/** The error `unwrap` throws; `error` is the typed value. */
export class ApiFailure extends Error {
  constructor(readonly error: ApiError) {
    super(error.kind === "relay" ? `${error.code}: ${error.message}` : error.message);
    this.name = "ApiFailure";
  }
}

/** The result with `f` applied to its value; an error passes through. */
export function mapValue<T, U>(result: ApiResult<T>, f: (value: T) => U): ApiResult<U> {
  return result.ok ? { ok: true, value: f(result.value) } : result;
}
