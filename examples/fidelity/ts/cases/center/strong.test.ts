import { expect, it } from "vitest";
import { center } from "../src/center.js";

it("centers with the odd pad on the right", () => {
  expect(center("ab", 6)).toBe("  ab  ");
  expect(center("ab", 5, "*")).toBe("*ab**");
  expect(center("ab", 3, "-")).toBe("ab-");
  expect(center("ab", 2)).toBe("ab");
  expect(center("abc", 2)).toBe("abc");
  expect(center("", 4, ".")).toBe("....");
  expect(center("x", 4, ".")).toBe(".x..");
});
