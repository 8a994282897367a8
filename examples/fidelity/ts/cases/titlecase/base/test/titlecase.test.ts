import { expect, it } from "vitest";
import { titleCase } from "../src/titlecase.js";

it("capitalizes words", () => {
  expect(titleCase("hello world")).toBe("Hello World");
  expect(titleCase("a")).toBe("A");
  expect(titleCase("")).toBe("");
  expect(titleCase(" two  spaces")).toBe(" Two  Spaces");
});
