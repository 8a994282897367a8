import { expect, it } from "vitest";
import { digitsOf } from "../src/luhn.js";

it("reads digits", () => {
  expect(digitsOf("1 2 3")).toEqual([1, 2, 3]);
  expect(digitsOf("1a")).toBeNull();
});
