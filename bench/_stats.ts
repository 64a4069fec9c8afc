/** Small statistics the benches and the chaos scenarios share. */

/** The median of `xs` (the mean of the two middle values of an even count; NaN when empty). Does not sort `xs`. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >>> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/**
 * The `q`-quantile of `xs` (0 < q <= 1) by the nearest-rank method: the smallest value with at least a fraction
 * `q` of the values at or below it (the 99th of 100 values for p99; NaN when empty). Does not sort `xs`.
 */
export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
