import { expect, it } from "vitest";
import { mean } from "../src/mean.js";

it("averages", () => {
  expect(mean([1, 2])).toBe(1.5);
  expect(mean([4])).toBe(4);
  expect(mean([2, 4, 9])).toBe(5);
  expect(mean([-3, 3])).toBe(0);
});
