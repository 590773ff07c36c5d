/**
 * Black-76 for the simulated options market: one model prices ROPD's series and answers the Options
 * Calculator, so the calculator's volatility reproduces the board's prices. Futures-style (margined)
 * options are not discounted, so the rate is 0. Greeks in the calculator's units (its real rows, see
 * docs/iss.md): vega per one volatility point, theta per calendar day, rho per one rate point.
 */

export type OptionKind = 'call' | 'put';

/** Standard normal cumulative distribution (Abramowitz–Stegun 7.1.26 through erf, error below 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

const normalPdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

export interface Greeks {
  price: number;
  delta: number;
  gamma: number;
  /** Per one volatility point (σ 30 % → 31 %). */
  vega: number;
  /** Per calendar day. */
  theta: number;
  /** Per one rate point. */
  rho: number;
}

/** The option's price on the underlying's price `forward`, `years` before expiry, at volatility `sigma` (0.3 = 30 %). */
export function black76Price(kind: OptionKind, forward: number, strike: number, years: number, sigma: number): number {
  const sd = sigma * Math.sqrt(years);
  const d1 = Math.log(forward / strike) / sd + sd / 2;
  const d2 = d1 - sd;
  return kind === 'call' ? forward * normalCdf(d1) - strike * normalCdf(d2) : strike * normalCdf(-d2) - forward * normalCdf(-d1);
}

export function black76Greeks(kind: OptionKind, forward: number, strike: number, years: number, sigma: number): Greeks {
  const sqrtT = Math.sqrt(years);
  const sd = sigma * sqrtT;
  const d1 = Math.log(forward / strike) / sd + sd / 2;
  const d2 = d1 - sd;
  const density = normalPdf(d1);
  const call = kind === 'call';
  return {
    price: black76Price(kind, forward, strike, years, sigma),
    delta: call ? normalCdf(d1) : normalCdf(d1) - 1,
    gamma: density / (forward * sd),
    vega: (forward * density * sqrtT) / 100,
    theta: -(forward * density * sigma) / (2 * sqrtT) / 365,
    rho: ((call ? 1 : -1) * strike * years * normalCdf(call ? d2 : -d2)) / 100,
  };
}

/**
 * The smile: implied volatility by log-moneyness ln(K/F), scaled by the expiry's standard deviation so
 * near expiries smile steeper. Out-of-the-money puts (K < F) carry more volatility than calls: the skew
 * of MOEX's equity and rouble options. Capped at six standard deviations, as a listed board's strikes end.
 */
export function smileVolatility(atmVolatility: number, forward: number, strike: number, years: number): number {
  const x = Math.max(-6, Math.min(6, Math.log(strike / forward) / (atmVolatility * Math.sqrt(years))));
  return atmVolatility * (1 - 0.09 * x + 0.035 * x * x);
}
