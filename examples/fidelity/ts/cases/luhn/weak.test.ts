import { expect, it } from "vitest";
import { isValidLuhn } from "../src/luhn.js";

it("rejects letters", () => {
  expect(isValidLuhn("abc")).toBe(false);
});
