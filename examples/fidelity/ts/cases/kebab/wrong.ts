/** Converts a camelCase or PascalCase identifier to kebab-case. */
export function toKebab(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c >= "A" && c <= "Z") {
      if (i >= 0) {
        out += "-";
      }
      out += c.toLowerCase();
    } else {
      out += c;
    }
  }
  return out;
}
