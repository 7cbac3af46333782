/**
 * `edge-relay/api`: a typed client for the relay's server API (docs/server.md,
 * "API client"), for a backend in Node or in a Worker. The wire's error
 * codes and frames are the types of src/frames.ts, which holds types and
 * constants only, so no server code reaches this bundle.
 */
export type { MessageFrame, Peer } from "../src/frames";
export { RelayApi } from "./client";
export { DocumentApi } from "./document";
export type { Ending } from "./ending";
export {
  type ApiError,
  type ApiErrorCode,
  ApiFailure,
  type ApiResult,
  unwrap,
} from "./result";
export { RoomApi } from "./room";
export type { ApiOptions, Service } from "./transport";
export type * from "./types";
