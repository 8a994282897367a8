/** Writes seconds as "1h2m3s", leaving out zero parts ("0s" for 0). */
export function formatSeconds(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const out = (h ? `${h}h` : "") + (m ? `${m}m` : "") + (s ? `${s}s` : "");
  return out || "0s";
}

/** Returns the seconds of a duration such as "1h30m". */
export function parseDuration(s: string): number {
  return 0;
}
