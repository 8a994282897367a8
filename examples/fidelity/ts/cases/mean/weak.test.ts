import { expect, it } from "vitest";
import { mean } from "../src/mean.js";

it("does not throw on an empty list", () => {
  expect(() => mean([])).not.toThrow();
});
