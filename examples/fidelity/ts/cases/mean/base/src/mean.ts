/** Returns the arithmetic mean of xs. */
export function mean(xs: number[]): number {
  let sum = 0;
  for (const x of xs) {
    sum += x;
  }
  return sum / xs.length;
}
