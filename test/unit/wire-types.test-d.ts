/**
 * The client's public types are the wire types of src/frames.ts, which the
 * server uses too. If anyone declares a frame again on the client's side and
 * it drifts (an optional field, a wider union), this file stops compiling,
 * and the unit project's typecheck fails.
 */
import { expectTypeOf, it } from "vitest";
import type * as Client from "../../client/index";
import type * as Frames from "../../src/frames";
import type * as Server from "../../src/protocol";

it("welcome, peers and resume failures are the server's types", () => {
  expectTypeOf<Client.WelcomeFrame>().toEqualTypeOf<Frames.WelcomeFrame>();
  expectTypeOf<Client.ClientEvents["welcome"]>().toEqualTypeOf<Server.WelcomeFrame>();
  expectTypeOf<Client.Peer>().toEqualTypeOf<Server.Peer>();
  expectTypeOf<Client.ClientEvents["join"]>().toEqualTypeOf<Server.Peer>();
  expectTypeOf<Client.ClientEvents["gap"]["reason"]>().toEqualTypeOf<Server.ResumeFailure>();
  expectTypeOf<Client.GapReason>().toEqualTypeOf<Server.ResumeFailure>();
  expectTypeOf<Client.WelcomeLimits>().toEqualTypeOf<Server.WelcomeLimits>();
});

it("messages and acks are the server's frames without their envelope", () => {
  expectTypeOf<Client.Message>().toEqualTypeOf<Omit<Server.MessageFrame, "type">>();
  expectTypeOf<Client.Ack>().toEqualTypeOf<Omit<Server.AckFrame, "type" | "id">>();
});

it("every error code of the relay is a code a RelayError can carry", () => {
  expectTypeOf<Server.FrameErrorCode>().toExtend<Client.RelayErrorCode>();
  expectTypeOf<Client.RelayError["code"]>().toEqualTypeOf<Client.RelayErrorCode>();
});

it("broadcast and direct take what the server's frames carry", () => {
  type Data = Server.BroadcastFrame["data"];
  expectTypeOf<Parameters<Client.RelayClient["broadcast"]>[0]>().toEqualTypeOf<Data>();
  expectTypeOf<Parameters<Client.RelayClient["direct"]>[0]>().toEqualTypeOf<
    Server.DirectFrame["to"]
  >();
});

it("a room of a multi-room connection offers the single-room client's API", () => {
  type Shared =
    | "broadcast"
    | "direct"
    | "setPresence"
    | "peers"
    | "occupancy"
    | "id"
    | "status"
    | "on"
    | "off"
    | "close";
  expectTypeOf<Pick<Client.RoomHandle, Shared>>().toEqualTypeOf<Pick<Client.RelayClient, Shared>>();
  expectTypeOf<Client.RoomsOptions["token"]>().toEqualTypeOf<
    string | ((room: string) => string | Promise<string>) | undefined
  >();
});

it("subscribe and its answers are the hub's frames", () => {
  expectTypeOf<Server.SubscribeFrame>().toEqualTypeOf<Frames.SubscribeFrame>();
});
