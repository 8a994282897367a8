import { expect, it } from "vitest";
import { countBy } from "../src/countby.js";

it("counts by key in order of first appearance", () => {
  const got = countBy(["apple", "banana", "avocado", "cherry", "blueberry", "apricot"], (s) => s[0]);
  expect([...got.entries()]).toEqual([["a", 3], ["b", 2], ["c", 1]]);
  expect(countBy([1, 2, 3, 4], (n) => (n % 2 === 0 ? "even" : "odd"))).toEqual(new Map([["odd", 2], ["even", 2]]));
  expect(countBy([], (s: string) => s).size).toBe(0);
});
