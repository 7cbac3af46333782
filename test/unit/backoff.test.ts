import { expect, it } from "vitest";
import { backoffDelay } from "../../client/backoff";

it("grows exponentially up to the cap, with jitter in the upper half of each step", () => {
  const options = { minMs: 100, maxMs: 1000, factor: 2 };
  expect(backoffDelay(0, options, () => 0)).toBe(50);
  expect(backoffDelay(0, options, () => 1)).toBe(100);
  expect(backoffDelay(3, options, () => 0.5)).toBe(600);
  expect(backoffDelay(20, options, () => 1)).toBe(1000);
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, options)));
  expect(spread.size).toBeGreaterThan(10);
});

it("uses 500 ms doubling up to 15 s by default", () => {
  expect(backoffDelay(0, {}, () => 1)).toBe(500);
  expect(backoffDelay(1, {}, () => 1)).toBe(1000);
  expect(backoffDelay(10, {}, () => 1)).toBe(15_000);
  expect(backoffDelay(10, {}, () => 0)).toBe(7_500);
});
