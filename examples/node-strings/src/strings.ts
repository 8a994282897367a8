/** Upper-cases the first character of s. */
export function capitalize(s: string): string {
  if (s.length === 0) {
    return s;
  }
  return s[0].toUpperCase() + s.slice(1);
}

/** Turns a title into a URL slug: "Hello, World!" becomes "hello-world". */
export function slugify(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** Shortens s to at most max characters, ending with an ellipsis when cut. */
export function truncate(s: string, max: number): string {
  if (max < 1) {
    throw new RangeError("max must be at least 1");
  }
  if (s.length <= max) {
    return s;
  }
  return s.slice(0, max - 1) + "…";
}

/** Counts whitespace-separated words. */
export function wordCount(s: string): number {
  const trimmed = s.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}
