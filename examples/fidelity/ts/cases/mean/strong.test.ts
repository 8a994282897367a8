import { expect, it } from "vitest";
import { mean } from "../src/mean.js";

it("is 0 for an empty list", () => {
  expect(mean([])).toBe(0);
});
