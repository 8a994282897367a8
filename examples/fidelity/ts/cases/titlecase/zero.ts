/** Upper-cases the first letter of every word and lower-cases the rest. */
export function titleCase(s: string): string {
  return "";
}
