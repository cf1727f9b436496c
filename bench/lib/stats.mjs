/** Order statistics of a sample of durations (ms). */
export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return { n: s.length, median: at(0.5), p99: at(0.99), max: s[s.length - 1], min: s[0] };
}

export function fmtMs(v) {
  return v === undefined || v === null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1);
}
