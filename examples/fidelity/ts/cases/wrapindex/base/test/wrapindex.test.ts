import { expect, it } from "vitest";
import { wrapIndex } from "../src/wrapindex.js";

it("wraps indexes", () => {
  expect(wrapIndex(0, 5)).toBe(0);
  expect(wrapIndex(3, 5)).toBe(3);
  expect(wrapIndex(5, 5)).toBe(0);
  expect(wrapIndex(7, 5)).toBe(2);
  expect(wrapIndex(12, 5)).toBe(2);
  expect(wrapIndex(3, 1)).toBe(0);
  expect(wrapIndex(3, 0)).toBe(-1);
  expect(wrapIndex(3, -2)).toBe(-1);
});
