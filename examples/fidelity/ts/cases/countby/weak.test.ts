import { expect, it } from "vitest";
import { countBy } from "../src/countby.js";

it("returns a map", () => {
  expect(countBy(["a", "b"], (s) => s)).toBeInstanceOf(Map);
});
