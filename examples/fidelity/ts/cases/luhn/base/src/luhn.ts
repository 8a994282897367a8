/** Returns the digits of s with spaces removed, or null if anything else is in it. */
export function digitsOf(s: string): number[] | null {
  const t = s.replace(/ /g, "");
  return /^\d*$/.test(t) ? [...t].map(Number) : null;
}

/** Checks s with the Luhn checksum. */
export function isValidLuhn(s: string): boolean {
  // TODO: implement
  return false;
}
