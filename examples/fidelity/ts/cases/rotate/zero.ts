/** Returns xs rotated left by k places (negative k rotates right). */
export function rotateLeft<T>(xs: T[], k: number): T[] {
  return [];
}
