import { expect, it } from "vitest";
import { wrapIndex } from "../src/wrapindex.js";

it("wraps negative indexes from the end", () => {
  expect(wrapIndex(-1, 5)).toBe(4);
  expect(wrapIndex(-5, 5)).toBe(0);
  expect(wrapIndex(-6, 5)).toBe(4);
  expect(wrapIndex(-2, 3)).toBe(1);
});
