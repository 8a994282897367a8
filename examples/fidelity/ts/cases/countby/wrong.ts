/** Counts the elements of xs by key, keys in order of first appearance. */
export function countBy<T>(xs: T[], key: (x: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const x of xs) {
    const k = key(x);
    counts.set(k, (counts.get(k) ?? 1) + 1);
  }
  return counts;
}
