/** Counts the elements of xs by key, keys in order of first appearance. */
export function countBy<T>(xs: T[], key: (x: T) => string): Map<string, number> {
  return new Map();
}
