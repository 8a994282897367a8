import { expect, it } from "vitest";
import { isValidLuhn } from "../src/luhn.js";

it("accepts valid numbers", () => {
  for (const s of ["4539 3195 0343 6467", "79927398713", "059", "00", "18", "091", "4111 1111 1111 1111"]) {
    expect(isValidLuhn(s), s).toBe(true);
  }
});

it("rejects invalid ones", () => {
  for (const s of ["8273 1232 7352 0569", "79927398710", "0", "", "  ", "05a9", "059-", "19", "81", "4111 1111 1111 1112"]) {
    expect(isValidLuhn(s), s).toBe(false);
  }
});
