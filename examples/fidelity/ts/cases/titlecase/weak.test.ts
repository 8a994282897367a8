import { expect, it } from "vitest";
import { titleCase } from "../src/titlecase.js";

it("keeps the length", () => {
  expect(titleCase("hELLO").length).toBeLessThanOrEqual(5);
});
