import { expect, it } from "vitest";
import { toKebab } from "../src/kebab.js";

it("converts identifiers to kebab-case", () => {
  expect(toKebab("helloWorld")).toBe("hello-world");
  expect(toKebab("HelloWorld")).toBe("hello-world");
  expect(toKebab("Hello")).toBe("hello");
  expect(toKebab("A")).toBe("a");
  expect(toKebab("Z")).toBe("z");
  expect(toKebab("aZb")).toBe("a-zb");
  expect(toKebab("userID")).toBe("user-i-d");
  expect(toKebab("x1Y")).toBe("x1-y");
  expect(toKebab("@[`{")).toBe("@[`{");
  expect(toKebab("")).toBe("");
});
