/**
 * Property: whatever the order of sends, drops and resumes, a client that
 * resumes with the last seq it saw and resends what was not acknowledged
 * ends with exactly the room's log: nothing twice, nothing missing, in seq
 * order, unless the room said recovered:false. The client is test/resume-model.ts.
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { freshRoom } from "./client";
import { Solo, settle } from "./resume-model";

type Action =
  | { kind: "send"; who: number }
  | { kind: "drop"; who: number }
  | { kind: "resume"; who: number };

const CLIENTS = 3;

const actions = fc.array(
  fc.record({
    kind: fc.constantFrom("send", "send", "send", "drop", "resume"),
    who: fc.integer({ min: 0, max: CLIENTS - 1 }),
  }) as fc.Arbitrary<Action>,
  { minLength: 5, maxLength: 30 },
);

describe("resume, as a property", () => {
  it("every client's view ends equal to the room's log", async () => {
    await fc.assert(
      fc.asyncProperty(actions, async (script) => {
        const room = freshRoom();
        const models = Array.from({ length: CLIENTS }, (_, i) => new Solo(room, `c${i}`));
        for (const model of models) await model.connect();
        for (const action of script) {
          const model = models[action.who] as Solo;
          if (action.kind === "send" && model.session) model.send();
          if (action.kind === "drop") model.drop();
          if (action.kind === "resume" && !model.session) await model.connect();
          await new Promise((r) => setTimeout(r, 2));
        }
        for (const model of models) if (!model.session) await model.connect();
        const views = models.map((model) => model.view);
        const log = await settle(room, views);
        for (const view of views) view.expectWhole(log);
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
