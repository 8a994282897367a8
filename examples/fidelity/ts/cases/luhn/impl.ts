/** Returns the digits of s with spaces removed, or null if anything else is in it. */
export function digitsOf(s: string): number[] | null {
  const t = s.replace(/ /g, "");
  return /^\d*$/.test(t) ? [...t].map(Number) : null;
}

/** Checks s (spaces ignored, at least two digits) with the Luhn checksum. */
export function isValidLuhn(s: string): boolean {
  const ds = digitsOf(s);
  if (ds === null || ds.length < 2) {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < ds.length; i++) {
    let d = ds[ds.length - 1 - i];
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) {
        d -= 9;
      }
    }
    sum += d;
  }
  return sum % 10 === 0;
}
