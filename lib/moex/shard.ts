import type { BoardSource } from './markets';

/** `MOEX_SHARD=i/N`: this process polls shard `index` (0 … count-1) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** FNV-1a, 32 bit: a stable hash that every process, every run, computes alike. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The shard an instrument belongs to: by board and SECID, so it never moves between runs. */
export function shardOf(board: string, secid: string, count: number): number {
  return fnv1a(`${board.toUpperCase()}/${secid.toUpperCase()}`) % count;
}

export function inShard(shard: Shard | null, board: string, secid: string): boolean {
  return shard === null || shardOf(board, secid, shard.count) === shard.index;
}

/**
 * The boards this shard polls: listed tickers are split by hash (a board left without tickers is not
 * polled); an `ALL` board is polled by every shard and its answer filtered by `inShard`.
 */
export function sourcesOfShard(sources: readonly BoardSource[], shard: Shard | null): BoardSource[] {
  if (shard === null) return [...sources];
  return sources.flatMap((source) => {
    if (source.tickers === 'ALL') return [source];
    const tickers = source.tickers.filter((ticker) => inShard(shard, source.board, ticker));
    return tickers.length > 0 ? [{ ...source, tickers }] : [];
  });
}
