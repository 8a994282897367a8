import { expect, it } from "vitest";
import { repeatFill } from "../src/center.js";

it("repeats fill", () => {
  expect(repeatFill("ab", 2)).toBe("abab");
  expect(repeatFill("ab", -1)).toBe("");
});
