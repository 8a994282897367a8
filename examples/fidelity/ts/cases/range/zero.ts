/** Returns start, start + step, ... up to but excluding end. */
export function range(start: number, end: number, step = 1): number[] {
  return [];
}
