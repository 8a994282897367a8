/** Returns fill repeated n times (nothing for n <= 0). */
export function repeatFill(fill: string, n: number): string {
  return n > 0 ? fill.repeat(n) : "";
}

/** Pads s on both sides with fill to width characters, the odd one on the right. */
export function center(s: string, width: number, fill = " "): string {
  const pad = width - s.length;
  if (pad <= 0) {
    return s;
  }
  const left = Math.ceil(pad / 2);
  return repeatFill(fill, left) + s + repeatFill(fill, pad - left);
}
