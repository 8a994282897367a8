/** Returns fill repeated n times (nothing for n <= 0). */
export function repeatFill(fill: string, n: number): string {
  return n > 0 ? fill.repeat(n) : "";
}

/** Pads s on both sides to width characters. */
export function center(s: string, width: number, fill = " "): string {
  throw new Error("TODO");
}
