import { expect, it } from "vitest";
import { parseDuration } from "../src/duration.js";

it("parses hours, minutes and seconds", () => {
  expect(parseDuration("1h30m")).toBe(5400);
  expect(parseDuration("45s")).toBe(45);
  expect(parseDuration("2h5s")).toBe(7205);
  expect(parseDuration("1h1m1s")).toBe(3661);
  expect(parseDuration("10m")).toBe(600);
  expect(parseDuration("0s")).toBe(0);
});

it("refuses anything else", () => {
  for (const bad of ["", "1x", "30m1h", "h", "1.5h", " 1h"]) {
    expect(() => parseDuration(bad)).toThrow();
  }
});
