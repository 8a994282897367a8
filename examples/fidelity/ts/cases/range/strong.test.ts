import { expect, it } from "vitest";
import { range } from "../src/range.js";

it("counts up and down, excluding end", () => {
  expect(range(0, 5)).toEqual([0, 1, 2, 3, 4]);
  expect(range(2, 10, 3)).toEqual([2, 5, 8]);
  expect(range(2, 11, 3)).toEqual([2, 5, 8]);
  expect(range(5, 1, -2)).toEqual([5, 3]);
  expect(range(5, 0, -1)).toEqual([5, 4, 3, 2, 1]);
  expect(range(3, 3)).toEqual([]);
  expect(range(3, 3, -1)).toEqual([]);
  expect(range(5, 1)).toEqual([]);
  expect(range(1, 5, -1)).toEqual([]);
  expect(range(0, 3, 0)).toEqual([]);
});
