import { expect, it } from "vitest";
import { toKebab } from "../src/kebab.js";

it("returns a string", () => {
  expect(typeof toKebab("helloWorld")).toBe("string");
});
