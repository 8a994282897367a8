import { expect, it } from "vitest";
import { rotateLeft } from "../src/rotate.js";

it("rotates left, right for negative k, modulo the length", () => {
  const xs = [1, 2, 3, 4];
  expect(rotateLeft(xs, 1)).toEqual([2, 3, 4, 1]);
  expect(rotateLeft(xs, 3)).toEqual([4, 1, 2, 3]);
  expect(rotateLeft(xs, 0)).toEqual([1, 2, 3, 4]);
  expect(rotateLeft(xs, 4)).toEqual([1, 2, 3, 4]);
  expect(rotateLeft(xs, 6)).toEqual([3, 4, 1, 2]);
  expect(rotateLeft(xs, -1)).toEqual([4, 1, 2, 3]);
  expect(rotateLeft(xs, -6)).toEqual([3, 4, 1, 2]);
  expect(rotateLeft([], 3)).toEqual([]);
  expect(xs).toEqual([1, 2, 3, 4]);
});
