import { logOnChange } from '../log-once';
import { PollError, type PollFailureReason } from './errors';
import type { IssTransport } from './iss-client';
import { optionBoardRequest, optionSeriesListRequest, type IssRequest } from './iss-requests';
import type { OptionContract } from './options';
import type { PollLog } from './poll';
import type { Quote } from './quote';

/**
 * Greeks and implied volatility of the option series a board poll selected, from MOEX's Options
 * Calculator (`/iss/apps/option-calc/v1`, OpenAPI spec in test/fixtures/iss/real/options/): per
 * asset its series list (`optionseries`), then per selected expiry that series' `optionboard`,
 * whose rows are keyed by the board's SECIDs. The answers are plain JSON, not ISS blocks.
 */

/** The calculator's figures of one series; null where it sent none (or nothing usable). */
export interface OptionGreeks {
  impliedVolatility: number | null;
  theoreticalPrice: number | null;
  delta: number | null;
  gamma: number | null;
  vega: number | null;
  theta: number | null;
}

export type GreekField = keyof OptionGreeks;

/** Each figure: the calculator's key, the worker's gauge (docs/metrics.md), the push outputs' name, and what a value must be. */
export const GREEK_FIELDS: ReadonlyArray<{ field: GreekField; key: string; metric: string; seriesName: string; help: string; valid: (v: number) => boolean }> =
  [
    {
      field: 'impliedVolatility',
      key: 'volatility',
      metric: 'moex_option_implied_volatility',
      seriesName: 'implied_volatility',
      help: "Implied volatility, percent (MOEX Options Calculator's volatility)",
      valid: (v) => v > 0,
    },
    {
      field: 'theoreticalPrice',
      key: 'theorprice',
      metric: 'moex_option_theoretical_price',
      seriesName: 'theoretical_price',
      help: 'Theoretical price, price points (Options Calculator theorprice)',
      valid: (v) => v >= 0,
    },
    { field: 'delta', key: 'delta', metric: 'moex_option_delta', seriesName: 'delta', help: 'Delta (Options Calculator)', valid: (v) => v >= -1 && v <= 1 },
    { field: 'gamma', key: 'gamma', metric: 'moex_option_gamma', seriesName: 'gamma', help: 'Gamma (Options Calculator)', valid: (v) => v >= 0 },
    {
      field: 'vega',
      key: 'vega',
      metric: 'moex_option_vega',
      seriesName: 'vega',
      help: 'Vega, price points per volatility point (Options Calculator)',
      valid: (v) => v >= 0,
    },
    {
      field: 'theta',
      key: 'theta',
      metric: 'moex_option_theta',
      seriesName: 'theta',
      help: 'Theta, price points per day (Options Calculator)',
      valid: () => true,
    },
  ];

/** One series of an asset, as the calculator lists it. */
export interface CalculatorSeries {
  code: string;
  expiry: string;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** `optionseries` → each series' code and expiry; entries without them are left out. Throws PollError('validation') for a non-list. */
export function parseOptionSeriesList(json: unknown): CalculatorSeries[] {
  if (!Array.isArray(json)) throw new PollError('validation', 'Options Calculator optionseries answer is not a list');
  const series: CalculatorSeries[] = [];
  for (const entry of json as unknown[]) {
    const { optionseries_code: code, expiration_date: expiry } = (entry ?? {}) as Record<string, unknown>;
    if (typeof code === 'string' && code !== '' && typeof expiry === 'string' && ISO_DATE.test(expiry)) series.push({ code, expiry });
  }
  return series;
}

/** A figure the calculator sent that cannot be one; left out and counted. */
export interface InvalidGreek {
  secid: string;
  field: GreekField;
  value: unknown;
}

/**
 * `optionboard` (`{call: rows, put: rows}`) → each row's figures by SECID. A null figure stays null;
 * one that is not a finite number in its range is left out and reported. Throws PollError('validation')
 * when the answer is not that shape.
 */
export function parseOptionBoard(json: unknown): { greeks: Map<string, OptionGreeks>; invalid: InvalidGreek[] } {
  const { call, put } = (json ?? {}) as Record<string, unknown>;
  if (!Array.isArray(call) || !Array.isArray(put)) throw new PollError('validation', 'Options Calculator optionboard answer has no call and put lists');
  const greeks = new Map<string, OptionGreeks>();
  const invalid: InvalidGreek[] = [];
  for (const row of [...call, ...put] as unknown[]) {
    const cells = (row ?? {}) as Record<string, unknown>;
    if (typeof cells.secid !== 'string' || cells.secid === '') continue;
    const figures = {} as OptionGreeks;
    for (const { field, key, valid } of GREEK_FIELDS) {
      const raw = cells[key];
      figures[field] = null;
      if (raw === null || raw === undefined) continue;
      if (typeof raw === 'number' && Number.isFinite(raw) && valid(raw)) figures[field] = raw;
      else invalid.push({ secid: cells.secid, field, value: raw });
    }
    greeks.set(cells.secid, figures);
  }
  return { greeks, invalid };
}

/** A series whose figures are wanted: the board's contract names the asset and expiry to ask for. */
export interface SelectedSeries {
  ticker: string;
  board: string;
  engine: string;
  market: string;
  contract: OptionContract;
}

/**
 * The option series the board polls selected, board by board: a board that answered replaces its
 * list (a series it no longer returns is no longer asked for); a board that failed keeps its last.
 */
export function createOptionSeriesTracker() {
  const byBoard = new Map<string, SelectedSeries[]>();
  return {
    update(quotes: readonly Quote[], answeredBoards: readonly string[]): void {
      const fresh = new Map<string, SelectedSeries[]>(answeredBoards.map((board) => [board, []]));
      for (const { ticker, board, engine, market, option } of quotes) {
        if (option) fresh.get(board)?.push({ ticker, board, engine, market, contract: option });
      }
      for (const [board, series] of fresh) {
        if (series.length) byBoard.set(board, series);
        else byBoard.delete(board);
      }
    },
    selected(): SelectedSeries[] {
      return [...byBoard.values()].flat();
    },
  };
}

export interface SeriesGreeks extends SelectedSeries {
  greeks: OptionGreeks;
}

/**
 * What the greeks poll records (the worker's moex_option_greeks_* metrics); each request is also
 * counted by the transport, as moex_iss_requests_total{kind="calculator"}.
 */
export interface GreeksPollMetrics {
  /** An asset whose refresh failed, and why. */
  recordFailure(reason: PollFailureReason): void;
  recordInvalid(count: number): void;
  /** After every asset: whether every one answered. */
  recordCycle(ok: boolean): void;
}

export interface GreeksPollOptions {
  issUrl: string;
  transport: IssTransport;
  /** The series the last board polls selected (options boards only). */
  selected: () => readonly SelectedSeries[];
  /** Every cycle's figures: those of the series whose series answered (a failed one keeps its last figures). */
  onGreeks: (answered: readonly SeriesGreeks[], failedAssets: ReadonlySet<string>) => void;
  metrics: GreeksPollMetrics;
  log: PollLog;
}

/**
 * One refresh of every selected series' figures: per asset one `optionseries` request, then one
 * `optionboard` request per selected expiry, in turn through the transport (its limiter keeps them
 * inside MOEX_ISS_MAX_RPS beside the board polls). One asset's failure does not stop the others.
 */
export function createGreeksPoll({ issUrl, transport, selected, onGreeks, metrics, log }: GreeksPollOptions): () => Promise<void> {
  const failures = logOnChange(log, { failed: 'Options Calculator requests failed', recovered: 'Options Calculator requests recovered' });
  const invalidLog = logOnChange(log, { failed: 'Options Calculator sent invalid figures; left out' });

  const get = async (request: IssRequest) => (await transport.get(request)).json;

  return async () => {
    const byAsset = new Map<string, SelectedSeries[]>();
    for (const series of selected()) {
      const list = byAsset.get(series.contract.underlying);
      if (list) list.push(series);
      else byAsset.set(series.contract.underlying, [series]);
    }
    const answered: SeriesGreeks[] = [];
    const failedAssets = new Set<string>();
    const problems: string[] = [];
    const invalid: InvalidGreek[] = [];
    for (const [asset, series] of byAsset) {
      try {
        const expiries = new Set(series.map((s) => s.contract.expiry));
        const calculatorSeries = parseOptionSeriesList(await get(optionSeriesListRequest(issUrl, asset))).filter((s) => expiries.has(s.expiry));
        const figures = new Map<string, OptionGreeks>();
        for (const { code } of calculatorSeries) {
          const board = parseOptionBoard(await get(optionBoardRequest(issUrl, asset, code)));
          for (const [secid, g] of board.greeks) figures.set(secid.toUpperCase(), g);
          invalid.push(...board.invalid);
        }
        for (const s of series) {
          const greeks = figures.get(s.ticker.toUpperCase());
          if (greeks) answered.push({ ...s, greeks });
        }
      } catch (err) {
        failedAssets.add(asset);
        const failure = err instanceof PollError ? err : new PollError('validation', String(err));
        metrics.recordFailure(failure.reason);
        problems.push(`${asset}: ${failure.reason}: ${failure.message}`);
      }
    }
    metrics.recordInvalid(invalid.length);
    if (invalid.length) invalidLog.failed(invalid.map((v) => `${v.secid}.${v.field}`).join(','), { invalidValues: invalid.slice(0, 20) });
    else invalidLog.clear();
    if (problems.length) failures.failed(problems.join('; '), { errors: problems });
    else failures.recovered();
    metrics.recordCycle(problems.length === 0);
    onGreeks(answered, failedAssets);
  };
}
