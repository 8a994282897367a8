/** Returns the arithmetic mean of xs, or 0 for an empty list. */
export function mean(xs: number[]): number {
  if (xs.length === 0) {
    return 0;
  }
  let sum = 0;
  for (const x of xs) {
    sum += x;
  }
  return sum / xs.length;
}
