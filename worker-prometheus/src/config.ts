import { doc, logShape, moexShape, oneOf, port, positiveInt, streamShape } from '../../lib/config';
import { algopackShape } from '../../lib/moex/algopack/config';
import { httpShape } from '../../lib/web-config';
import { HISTOGRAM_MODES } from './quote-metrics';

/** The worker's environment (docs/configuration.md): the poller's, the HTTP shell's, and what shapes its quote series. */
export const workerShape = {
  ...moexShape,
  ...streamShape,
  ...algopackShape,
  ...logShape,
  ...httpShape,
  PORT: doc("the worker's port: /metrics, /healthz, /readyz", port(8000)),
  MOEX_HISTOGRAM: doc(
    'which securities get moex_price_relative_to_prev_close (observed only while they trade): listed = boards of listed tickers, off = none, all = every board',
    oneOf('listed', HISTOGRAM_MODES),
  ),
  MOEX_REMOVE_AFTER_POLLS: doc(
    'a security its board has not returned for this many successful polls in a row loses its series (ALGOPACK: an instrument its dataset has not returned for this many successful cycles)',
    positiveInt(3),
  ),
  MOEX_CALENDAR_REFRESH_SECONDS: doc(
    "how often each polled engine's trading calendar (/iss/engines/{engine}.json) is fetched again, seconds",
    positiveInt(3600),
  ),
};
