/** Upper-cases the first letter of every word and lower-cases the rest. */
export function titleCase(s: string): string {
  return s
    .split(" ")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(" ");
}
