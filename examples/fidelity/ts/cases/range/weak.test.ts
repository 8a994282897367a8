import { expect, it } from "vitest";
import { range } from "../src/range.js";

it("returns an array", () => {
  expect(Array.isArray(range(0, 5))).toBe(true);
});
