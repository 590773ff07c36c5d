/**
 * The options market (engine `futures`, market `options`, board ROPD): what a series is, read from
 * its row of the board's `securities` block, and which series a user asked for. Pure.
 *
 * What real answers show (test/fixtures/iss/real/options/, docs/options.md): STRIKE, LASTTRADEDATE,
 * ASSETCODE and UNDERLYINGASSET are columns of today's answers; call or put is OPTIONTYPE where it is
 * sent, and otherwise only in the SECID's month letter (A–L calls January–December, M–X puts) and in
 * SHORTNAME (`Si-12.25M181225CA80000`: expiry 18.12.25, C call or P put, A American or E European,
 * strike 80000). Older answers have no STRIKE or underlying column at all; SHORTNAME then says it.
 */

export type OptionType = 'call' | 'put';

/** One option series: the labels every output gives it. */
export interface OptionContract {
  /** The underlying asset's code (ASSETCODE: `Si`, `RTS`, `GAZP`): what a filter names. */
  underlying: string;
  type: OptionType;
  /** The strike as decimal text, as ISS writes the number (`80000`, `0.925`). */
  strike: string;
  /** The last trading day, `YYYY-MM-DD`. */
  expiry: string;
}

/** What the user asked of an options board (MOEX_SOURCES `ASSET,ASSET@N`, docs/configuration.md). */
export interface OptionSelection {
  /** Underlying asset codes, upper-cased; `ALL`: every asset of the board. */
  assets: readonly string[] | 'ALL';
  /** Each asset's nearest this many expiries; `ALL`: every expiry. */
  nearestExpiries: number | 'ALL';
}

/** The `securities` columns a series' contract is read from, beyond SECID and SHORTNAME (board requests ask for them). */
export const OPTION_CONTRACT_COLUMNS: readonly string[] = ['STRIKE', 'LASTTRADEDATE', 'ASSETCODE', 'OPTIONTYPE'];

/** `<underlying>M<ddmmyy><C|P><A|E><strike>`: the tail of a series' SHORTNAME. */
const SHORTNAME_PATTERN = /^(.*?)M(\d{2})(\d{2})(\d{2})([CP])[AE](\d+(?:\.\d+)?)$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A cell of the series' row by column name (undefined: the answer has no such column). */
export type RowCells = (column: string) => unknown;

/**
 * `<asset><strike><kind letter><month letter><year digit>[week letter]`: `Si80000BL5` a December (L)
 * call, `RI100000BV5` an October (V) put, `RI102500BJ5B` a weekly (B) October call.
 */
const SECID_MONTH_PATTERN = /\d[A-Za-z]([A-Xa-x])\d[A-Za-z]?$/;

function typeFromSecid(secid: string): OptionType | null {
  const letter = SECID_MONTH_PATTERN.exec(secid)?.[1]?.toUpperCase();
  if (!letter) return null;
  return letter <= 'L' ? 'call' : 'put';
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/**
 * The series' contract from its row, each part from its column where the answer has it and from
 * SHORTNAME (then the SECID's month letter) where it does not; null when a part cannot be told:
 * such a series is counted and left out, never exported with a guessed label.
 */
export function optionContractOf(secid: string, cell: RowCells): OptionContract | null {
  const name = SHORTNAME_PATTERN.exec(text(cell('SHORTNAME')) ?? '');
  const optionType = text(cell('OPTIONTYPE'))?.toUpperCase();
  const type: OptionType | null = optionType === 'C' ? 'call' : optionType === 'P' ? 'put' : name ? (name[5] === 'C' ? 'call' : 'put') : typeFromSecid(secid);

  const strikeCell = cell('STRIKE');
  const strike = typeof strikeCell === 'number' && Number.isFinite(strikeCell) && strikeCell > 0 ? String(strikeCell) : name ? String(Number(name[6])) : null;

  const lastTradeDate = text(cell('LASTTRADEDATE'));
  const expiry = lastTradeDate && ISO_DATE.test(lastTradeDate) ? lastTradeDate : name ? `20${name[4]}-${name[3]}-${name[2]}` : null;

  // ASSETCODE names the asset (Si); a SHORTNAME's head is the underlying contract (Si-12.25) whose asset is before the dash.
  const underlying = text(cell('ASSETCODE')) ?? (name ? text(name[1]!.split('-')[0]) : null);

  if (!type || !strike || !expiry || !underlying || Number.isNaN(Date.parse(expiry))) return null;
  return { underlying, type, strike, expiry };
}

/**
 * The series a selection keeps: those of a listed asset (or every asset), among that asset's nearest
 * `nearestExpiries` expiry dates on the board. "Nearest" is by date among the series the board lists
 * now (ISS delists a series after its last trading day), so no clock is needed.
 */
export function selectOptionSeries<T extends { contract: OptionContract }>(series: readonly T[], selection: OptionSelection): T[] {
  const assets = selection.assets === 'ALL' ? null : new Set(selection.assets);
  const ofAssets = assets ? series.filter((s) => assets.has(s.contract.underlying.toUpperCase())) : [...series];
  if (selection.nearestExpiries === 'ALL') return ofAssets;
  const expiriesByAsset = new Map<string, Set<string>>();
  for (const { contract } of ofAssets) {
    const key = contract.underlying.toUpperCase();
    let dates = expiriesByAsset.get(key);
    if (!dates) expiriesByAsset.set(key, (dates = new Set()));
    dates.add(contract.expiry);
  }
  const kept = new Map<string, Set<string>>();
  for (const [asset, dates] of expiriesByAsset) kept.set(asset, new Set([...dates].sort().slice(0, selection.nearestExpiries as number)));
  return ofAssets.filter(({ contract }) => kept.get(contract.underlying.toUpperCase())!.has(contract.expiry));
}

/** The series' labels as every output writes them (docs/metrics.md). */
export function optionLabels(contract: OptionContract): Record<'underlying' | 'option_type' | 'strike' | 'expiry', string> {
  return { underlying: contract.underlying, option_type: contract.type, strike: contract.strike, expiry: contract.expiry };
}

const SELECTION_PATTERN = /^([A-Za-z0-9_,\s]+)@(\d+|ALL)$/i;
const ASSET_PATTERN = /^[A-Za-z0-9_]{1,20}$/;

/**
 * An options board's selection text with `@` (`Si,RTS@2`, `ALL@1`, `GAZP@ALL`) → the selection;
 * null when the text has no `@` (a SECID list or ALL, read as for every board). Throws a message
 * naming what is wrong.
 */
export function parseOptionSelection(value: string): OptionSelection | null {
  if (!value.includes('@')) return null;
  const m = SELECTION_PATTERN.exec(value.trim());
  if (!m) throw new Error(`"${value}" is not ASSET,ASSET@N (e.g. Si,RTS@2: the nearest 2 expiries of Si and RTS; ALL@1; GAZP@ALL)`);
  const names = m[1]!
    .split(',')
    .map((a) => a.trim().toUpperCase())
    .filter((a) => a !== '');
  const bad = names.find((a) => !ASSET_PATTERN.test(a));
  if (names.length === 0 || bad !== undefined) throw new Error(`"${value}": ${bad ? `"${bad}" is not an asset code` : 'names no asset'} (e.g. Si,RTS@2)`);
  const count = m[2]!.toUpperCase() === 'ALL' ? 'ALL' : Number(m[2]);
  if (count === 0) throw new Error(`"${value}": the number of nearest expiries must be at least 1 or ALL (e.g. Si,RTS@2)`);
  return { assets: names.includes('ALL') ? 'ALL' : [...new Set(names)], nearestExpiries: count };
}
