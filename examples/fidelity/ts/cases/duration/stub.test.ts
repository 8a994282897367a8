import { expect, it } from "vitest";
import { formatSeconds } from "../src/duration.js";

it("formats seconds", () => {
  expect(formatSeconds(3723)).toBe("1h2m3s");
  expect(formatSeconds(0)).toBe("0s");
});
