/** How long each part runs: `./runner.sh bench` (full) or `./runner.sh bench --quick`. */
export interface BenchOptions {
  quick: boolean;
  /** wrk runs per side, alternating ours / reference. */
  loadRounds: number;
  loadSeconds: number;
  /** Poll cycles measured for footprint and wire cost (after the warm-up cycles). */
  cycles: number;
  warmupCycles: number;
  /** Freshness samples with the default intervals and with the 1 s poll. */
  freshnessDefaultSamples: number;
  freshnessFastSamples: number;
  /** Freshness samples with MOEX_STREAM=issplus (spread over the 15 s scrape period). */
  freshnessStreamSamples: number;
}

export function benchOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  return quick
    ? { quick, loadRounds: 1, loadSeconds: 2, cycles: 8, warmupCycles: 3, freshnessDefaultSamples: 1, freshnessFastSamples: 3, freshnessStreamSamples: 4 }
    : { quick, loadRounds: 3, loadSeconds: 3, cycles: 20, warmupCycles: 5, freshnessDefaultSamples: 3, freshnessFastSamples: 8, freshnessStreamSamples: 10 };
}
