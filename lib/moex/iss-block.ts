import { PollError } from './errors';

/**
 * The one reader of ISS data blocks. An ISS JSON answer (the default `iss.json=compact`) is an
 * object of named blocks, each `{ "columns": [names], "data": [[cells in that order], …] }` (with
 * `metadata` when `iss.meta` is on). Cells are addressed by column name, never by position: ISS
 * sends the columns asked for in the order asked, adds columns over time, and a block may lack one.
 * Pure; failures are PollError('validation') naming the block.
 */

/** A block as ISS sends it. */
export interface IssBlock {
  columns: string[];
  data: unknown[][];
}

export interface IssBlockOptions {
  /**
   * Read column names in lower case (`columns` and every lookup): for the answers whose capitals
   * vary (ALGOPACK's `SYSTIME` beside lower-case names, its cursor's `INDEX`).
   */
  anyCase?: boolean;
  /** Columns the block must have; a block without one of them is a validation error. */
  required?: readonly string[];
}

/** A block of one answer with its columns indexed by name. */
export interface IssBlockReader {
  /** The column names, lower-cased when read with `anyCase`. */
  readonly columns: readonly string[];
  /** Column name → its position (the last, should a name come twice). */
  readonly index: ReadonlyMap<string, number>;
  readonly rows: readonly (readonly unknown[])[];
  /** The cell of `column` in `row`; undefined when the block has no such column. */
  cell(row: readonly unknown[], column: string): unknown;
}

/** The answer's blocks by name; throws when the answer is not a JSON object. */
export function issAnswerBlocks(json: unknown): Record<string, unknown> {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new PollError('validation', 'ISS answer is not a JSON object');
  return json as Record<string, unknown>;
}

/**
 * The block `name` of an answer, null when the answer has none (an optional block, such as
 * ALGOPACK's cursor). Throws when the answer is not an object, or the block is there but is not
 * string columns and array rows, or lacks a required column.
 */
export function findIssBlock(json: unknown, name: string, options: IssBlockOptions = {}): IssBlockReader | null {
  const block = issAnswerBlocks(json)[name];
  return block === undefined ? null : readerOf(block, name, options);
}

/** The block `name` of an answer; as findIssBlock, and an answer without it is a validation error too. */
export function readIssBlock(json: unknown, name: string, options: IssBlockOptions = {}): IssBlockReader {
  return readerOf(issAnswerBlocks(json)[name], name, options);
}

function readerOf(block: unknown, name: string, { anyCase = false, required = [] }: IssBlockOptions): IssBlockReader {
  const { columns, data } = (block ?? {}) as Partial<Record<keyof IssBlock, unknown>>;
  if (typeof block !== 'object' || !Array.isArray(columns) || !Array.isArray(data)) {
    throw new PollError('validation', `ISS answer has no "${name}" block with columns and data`);
  }
  if (!columns.every((c) => typeof c === 'string') || !data.every((row) => Array.isArray(row))) {
    throw new PollError('validation', `ISS "${name}" block is malformed`);
  }
  const names = anyCase ? (columns as string[]).map((c) => c.toLowerCase()) : (columns as string[]);
  const index = new Map(names.map((column, i) => [column, i] as const));
  const absent = required.filter((column) => !index.has(column));
  if (absent.length) throw new PollError('validation', `ISS "${name}" block lacks ${absent.join(', ')}`);
  return {
    columns: names,
    index,
    rows: data as unknown[][],
    cell(row, column) {
      const at = index.get(column);
      return at === undefined ? undefined : row[at];
    },
  };
}
