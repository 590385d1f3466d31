/** The nearest-rank percentile (p in 0–100) of a sample; NaN for none, which JSON prints as null. */
export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

/** To one decimal, as the bench prints milliseconds and seconds. */
export const round1 = (value: number): number => Math.round(value * 10) / 10;
