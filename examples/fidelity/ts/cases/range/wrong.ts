/** Returns start, start + step, ... up to but excluding end. */
export function range(start: number, end: number, step = 1): number[] {
  const out: number[] = [];
  if (step === 0) {
    return out;
  }
  for (let x = start; step > 0 ? x <= end : x > end; x += step) {
    out.push(x);
  }
  return out;
}
