/** Small statistics and formatting helpers for the benchmark's figures. */

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile (q in 0..1) of `values`; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export const max = (values: readonly number[]) => (values.length ? Math.max(...values) : NaN);

/** 1234.5 → "1,235"; keeps `digits` decimals for small numbers. */
export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Milliseconds with a sensible precision. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 1000) return `${num(value / 1000, 2)} s`;
  if (value >= 100) return `${num(value)} ms`;
  if (value >= 10) return `${num(value, 1)} ms`;
  return `${num(value, 2)} ms`;
}

export function mb(bytes: number): string {
  return `${num(bytes / 1024 / 1024, 1)} MB`;
}

export function kb(bytes: number): string {
  return bytes >= 1024 * 1024 ? mb(bytes) : `${num(bytes / 1024, 1)} KB`;
}

export function ratio(ours: number, reference: number): string {
  return Number.isFinite(ours / reference) ? `${num(ours / reference, 2)}x` : 'n/a';
}

export const sleep = (msToWait: number) => new Promise((resolve) => setTimeout(resolve, msToWait));
