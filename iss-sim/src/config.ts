import { check, doc, logShape, matching, nonNegativeInt, oneOf, port, positiveInt, secret, text } from '../../lib/config';
import { httpShape } from '../../lib/web-config';
import { MAX_SIM_SECURITIES } from './boards';
import { FAULTS, isFault } from './faults';
import { simDailytable, simSchedule } from './trading-calendar';

/** The ISS simulator's environment (docs/configuration.md). */
export const issSimShape = {
  ...logShape,
  PORT: doc("the simulator's port: /iss/... as MOEX ISS, /sim/... its control API", port(8999)),
  LISTEN_ADDRESS: httpShape.LISTEN_ADDRESS,
  SIM_BOARD: doc('the board a fault or a missing ticker applies to by default', matching('TQBR', /^[A-Z0-9]+$/, 'must be an ISS board id')),
  SIM_FAULT: doc(
    `a fault served from the start (${FAULTS.join(', ')}); empty: none`,
    check(text(''), (v) => v === '' || isFault(v), `must be one of ${FAULTS.join(', ')}`),
  ),
  SIM_WALK: doc('on: prices random-walk every second; off: they hold still', oneOf('on', ['on', 'off'])),
  SIM_DELAY_MS: doc('how long the slow fault holds an answer, milliseconds', positiveInt(15_000)),
  SIM_RETRY_AFTER: doc('Retry-After of the rate-limit fault, seconds', positiveInt(1)),
  SIM_MISSING_TICKER: doc('a SECID the board leaves out of its answers', text('')),
  ISS_SIM_DELAY_SECONDS: doc("how far UPDATETIME runs behind SYSTIME (the anonymous feed's 15 min)", nonNegativeInt(900)),
  ISS_SIM_TOKEN: doc('set: every ISS request needs Authorization: Bearer <token>, and the feed is not delayed', secret()),
  ISS_SIM_REPLAY: doc('a recorded ISS answer (e.g. test/fixtures/iss/real/*.json) served as is for every board request', text('')),
  ISS_SIM_SCALE: doc(
    'securities on all boards together, generated instruments added to each board (0: the boards as they are)',
    check(nonNegativeInt(0), (n) => n <= MAX_SIM_SECURITIES, `must be a whole number 0-${MAX_SIM_SECURITIES}`),
  ),
  ISS_SIM_MAX_SECURITIES: doc('like ISS: only the first this-many SECIDs of a securities= list are answered, the rest left out silently', positiveInt(10)),
  SIM_CLOCK_OFFSET_SECONDS: doc(
    "the simulator's clock against the real one (negative: behind), for tests of history and gaps",
    check(text('0'), (v) => /^-?\d+$/.test(v), 'must be a whole number of seconds'),
  ),
  SIM_HISTORY_MINUTES: doc(
    "minutes of trading (candles) walked through at start, ending at the clock's now",
    check(text('0'), (v) => /^\d+$/.test(v), 'must be a whole number of minutes'),
  ),
  ISS_SIM_SCHEDULE: doc('the trading week served at /iss/engines/{engine}.json and obeyed (docs/calendar.md); empty: around the clock every day', simSchedule),
  ISS_SIM_DAILYTABLE: doc('dates that differ from that week (holidays, moved working days), as dailytable rows (docs/calendar.md)', simDailytable),
};
