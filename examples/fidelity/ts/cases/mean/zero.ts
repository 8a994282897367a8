/** Returns the arithmetic mean of xs, or 0 for an empty list. */
export function mean(xs: number[]): number {
  return 0;
}
