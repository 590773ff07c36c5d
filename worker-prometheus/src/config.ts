import { logShape, moexShape, oneOf, port, positiveInt } from '../../lib/config';
import { algopackShape } from '../../lib/moex/algopack/config';
import { httpShape } from '../../lib/web-config';
import { HISTOGRAM_MODES } from './quote-metrics';

/** worker-prometheus's environment: the poller's, plus what shapes its quote series. */
export const workerShape = {
  ...moexShape,
  ...algopackShape,
  ...logShape,
  ...httpShape,
  PORT: port(8000),
  /** Which securities get moex_price_relative_to_prev_close: boards of listed tickers, none, or every board. */
  MOEX_HISTOGRAM: oneOf('listed', HISTOGRAM_MODES),
  /** A security its board has not returned for this many successful polls in a row loses its series. */
  MOEX_REMOVE_AFTER_POLLS: positiveInt(3),
  /** How often each polled engine's trading calendar (/iss/engines/{engine}.json) is fetched again. */
  MOEX_CALENDAR_REFRESH_SECONDS: positiveInt(3600),
};
