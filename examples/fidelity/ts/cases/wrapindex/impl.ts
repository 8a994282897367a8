/** Maps index i into 0..n-1 the way a ring does; -1 when n <= 0. */
export function wrapIndex(i: number, n: number): number {
  if (n <= 0) {
    return -1;
  }
  return ((i % n) + n) % n;
}
