/** Converts a camelCase or PascalCase identifier to kebab-case. */
export function toKebab(s: string): string {
  return "";
}
