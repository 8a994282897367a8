import { expect, it } from "vitest";
import { wrapIndex } from "../src/wrapindex.js";

it("returns a number for a negative index", () => {
  expect(typeof wrapIndex(-1, 5)).toBe("number");
});
