import { describe, expect, it } from "vitest";
import { capitalize, slugify, truncate, wordCount } from "../src/strings.js";

describe("capitalize", () => {
  it("upper-cases the first letter", () => {
    expect(capitalize("moose")).toBe("Moose");
  });
  it("leaves the empty string alone", () => {
    expect(capitalize("")).toBe("");
  });
});

describe("slugify", () => {
  it("makes a slug", () => {
    expect(slugify("Hello, World!")).toBe("hello-world");
  });
});

describe("truncate", () => {
  it("keeps short strings", () => {
    expect(truncate("abc", 5)).toBe("abc");
  });
  it("cuts long strings", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
  });
  it("rejects a zero length", () => {
    expect(() => truncate("abc", 0)).toThrow(RangeError);
  });
});

describe("wordCount", () => {
  it("counts words", () => {
    expect(wordCount("  the quick  brown fox ")).toBe(4);
    expect(wordCount("   ")).toBe(0);
  });
});
