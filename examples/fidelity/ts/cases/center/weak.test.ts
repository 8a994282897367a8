import { expect, it } from "vitest";
import { center } from "../src/center.js";

it("is defined", () => {
  expect(center("ab", 6)).toBeDefined();
});
