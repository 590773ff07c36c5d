/**
 * Securities taken off their boards through the control API, as ISS stops returning an instrument
 * after a delisting or a futures contract's expiry (the worker must then drop its series):
 *   PUT /sim/delist {board, secid}      the board's answers leave the security out
 *   DELETE /sim/delist [{board, secid}] it (or, without a body, every one) is back
 *   GET /sim/delist                     what is delisted, as BOARD/SECID
 */
export class Delistings {
  private readonly gone = new Set<string>();

  private static key(board: string, secid: string): string {
    return `${board.toUpperCase()}/${secid.toUpperCase()}`;
  }

  /** Whether answers of `board` (as the request names it) leave `secid` out. */
  has(board: string, secid: string): boolean {
    return this.gone.size > 0 && this.gone.has(Delistings.key(board, secid));
  }

  /** The control API: the answer's status and body for one request to /sim/delist. */
  control(method: string, body: Record<string, unknown>): { status: number; body: unknown } {
    const { board, secid } = body;
    const named = typeof board === 'string' && board !== '' && typeof secid === 'string' && secid !== '';
    if (method === 'PUT' || (method === 'DELETE' && Object.keys(body).length > 0)) {
      if (!named) return { status: 400, body: { error: 'board and secid must name the security, e.g. {"board":"TQBR","secid":"GAZP"}' } };
      if (method === 'PUT') this.gone.add(Delistings.key(board, secid));
      else this.gone.delete(Delistings.key(board, secid));
    } else if (method === 'DELETE') {
      this.gone.clear();
    } else if (method !== 'GET') {
      return { status: 405, body: { error: `no route ${method} /sim/delist` } };
    }
    return { status: 200, body: { delisted: [...this.gone] } };
  }
}
