import { expect, it } from "vitest";
import { parseDuration } from "../src/duration.js";

it("returns a number", () => {
  expect(parseDuration("1h30m")).not.toBeNaN();
});
