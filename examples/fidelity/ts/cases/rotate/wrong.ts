/** Returns xs rotated left by k places (negative k rotates right). */
export function rotateLeft<T>(xs: T[], k: number): T[] {
  const n = xs.length;
  if (n <= 1) {
    return [];
  }
  const s = ((k % n) + n) % n;
  return xs.slice(s).concat(xs.slice(0, s));
}
