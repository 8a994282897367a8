import { expect, it } from "vitest";
import { rotateLeft } from "../src/rotate.js";

it("does not throw", () => {
  expect(() => rotateLeft([1, 2, 3], 1)).not.toThrow();
});
