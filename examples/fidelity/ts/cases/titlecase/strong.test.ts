import { expect, it } from "vitest";
import { titleCase } from "../src/titlecase.js";

it("lower-cases the rest of each word", () => {
  expect(titleCase("hELLO wORLD")).toBe("Hello World");
  expect(titleCase("ABC")).toBe("Abc");
  expect(titleCase("élan VITAL")).toBe("Élan Vital");
});
