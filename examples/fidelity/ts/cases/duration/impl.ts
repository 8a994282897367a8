/** Writes seconds as "1h2m3s", leaving out zero parts ("0s" for 0). */
export function formatSeconds(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const out = (h ? `${h}h` : "") + (m ? `${m}m` : "") + (s ? `${s}s` : "");
  return out || "0s";
}

/** Returns the seconds of a duration such as "1h30m" (hours, minutes, seconds, each optional, in that order). */
export function parseDuration(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s);
  if (m === null || s === "") {
    throw new Error(`bad duration ${JSON.stringify(s)}`);
  }
  const [h, min, sec] = [m[1], m[2], m[3]].map((x) => (x === undefined ? 0 : Number(x)));
  return h * 3600 + min * 60 + sec;
}
