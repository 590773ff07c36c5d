import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { barchart, buildDashboard, queryVariable, stat, table, textMapping, type Threshold, timeseries, xychart } from './panels';
import { DS, prom } from './queries';

// The options board ROPD (docs/metrics.md): every series carries underlying, option_type (call | put),
// strike (decimal text) and expiry (YYYY-MM-DD) beside ticker and board. Open interest and the central
// strike come with every board poll; implied volatility (percent) from the Options Calculator.
// A smile is one underlying and one expiry, so both variables take one value at a time.
const underlyingVariable = queryVariable(
  'underlying',
  'Underlying',
  DS.prometheus,
  { qryType: 1, query: 'label_values(moex_option_open_interest,underlying)', refId: 'PrometheusVariableQueryEditor-VariableQuery' },
  'label_values(moex_option_open_interest,underlying)',
  // Si (USD/RUB futures) carries most of MOEX's option open interest; absent, Grafana opens the first.
  { single: true, current: 'Si' },
);
// ISO dates sort by time: the nearest expiry comes first and is what the dashboard opens on.
const expiryVariable = queryVariable(
  'expiry',
  'Expiry',
  DS.prometheus,
  { qryType: 1, query: 'label_values(moex_option_open_interest{underlying="$underlying"},expiry)', refId: 'PrometheusVariableQueryEditor-VariableQuery' },
  'label_values(moex_option_open_interest{underlying="$underlying"},expiry)',
  { single: true },
);

const chosen = 'underlying="$underlying", expiry="$expiry"';
const IV = 'moex_option_implied_volatility';
/** Keeps the series whose strike is the central one (worker: moex_option_at_the_money). */
const atTheMoney = 'and on (ticker, board) moex_option_at_the_money == 1';

// Per strike, calls and puts as two instant table queries: Grafana's merge joins their rows on the
// strike label (each keeps only it, so no other label splits a row), then the strike text becomes a
// number so strikes order by value (72500 before 100000), not as text.
const byStrike = (expr: (type: 'call' | 'put') => string) =>
  (['call', 'put'] as const).map((type) => prom(expr(type), '', { instant: true, format: PromQueryFormat.Table }));
const strikeAsNumber = { id: 'convertFieldType', options: { fields: {}, conversions: [{ targetField: 'strike', destinationType: 'number' }] } };
const ascendingBy = (field: string) => ({ id: 'sortBy', options: { fields: {}, sort: [{ field, desc: false }] } });
const strikeColumns = (a: string, b: string) => ({
  id: 'organize',
  options: {
    excludeByName: { Time: true },
    indexByName: { strike: 0, 'Value #A': 1, 'Value #B': 2 },
    renameByName: { strike: 'Strike', 'Value #A': a, 'Value #B': b },
  },
});

// The largest IV moves: the range (highest minus lowest) of each series' IV over the last 15 minutes,
// the measure MoexOptionVolatilityJump alerts on (prometheus/rules/alerts.yml), for every polled series.
const SERIES_LABELS = 'ticker, underlying, option_type, strike, expiry';
const ivRange15m = `max_over_time(${IV}[15m]) - min_over_time(${IV}[15m])`;
const topMoves = `topk(10, max by (${SERIES_LABELS}) (${ivRange15m}))`;
const ofTopMoves = (expr: string) =>
  prom(`max by (${SERIES_LABELS}) (${expr}) and on (ticker) ${topMoves}`, '', { instant: true, format: PromQueryFormat.Table });
const JUMP_THRESHOLD_POINTS = 5;
const jumpThresholds: Threshold[] = [
  { color: 'green', value: null },
  { color: 'red', value: JUMP_THRESHOLD_POINTS },
];

const largestMoves = table({
  title: 'Largest IV moves in 15 minutes',
  description: `The 10 series (every underlying polled) whose implied volatility ranged most over the last 15 minutes: highest minus lowest, in IV points; red from ${JUMP_THRESHOLD_POINTS}, where MoexOptionVolatilityJump fires for an at-the-money series in session. Low and high tell the direction.`,
  targets: [
    prom(topMoves, '', { instant: true, format: PromQueryFormat.Table }),
    ofTopMoves(IV),
    ofTopMoves(`min_over_time(${IV}[15m])`),
    ofTopMoves(`max_over_time(${IV}[15m])`),
    ofTopMoves('moex_option_at_the_money'),
  ],
  transformations: [
    { id: 'merge', options: {} },
    {
      id: 'organize',
      options: {
        excludeByName: { Time: true },
        indexByName: {
          ticker: 0,
          underlying: 1,
          option_type: 2,
          strike: 3,
          expiry: 4,
          'Value #A': 5,
          'Value #B': 6,
          'Value #C': 7,
          'Value #D': 8,
          'Value #E': 9,
        },
        renameByName: {
          ticker: 'Series',
          underlying: 'Underlying',
          option_type: 'Type',
          strike: 'Strike',
          expiry: 'Expiry',
          'Value #A': 'Range 15m (IV points)',
          'Value #B': 'IV now %',
          'Value #C': 'IV low 15m %',
          'Value #D': 'IV high 15m %',
          'Value #E': 'At the money',
        },
      },
    },
    { id: 'sortBy', options: { fields: {}, sort: [{ field: 'Range 15m (IV points)', desc: true }] } },
  ],
  overrides: [
    {
      name: 'Range 15m (IV points)',
      properties: [
        { id: 'decimals', value: 1 },
        { id: 'thresholds', value: { mode: 'absolute', steps: jumpThresholds } },
        { id: 'custom.cellOptions', value: { type: 'color-text' } },
      ],
    },
    ...['IV now %', 'IV low 15m %', 'IV high 15m %'].map((name) => ({ name, properties: [{ id: 'decimals', value: 1 }] })),
    {
      name: 'At the money',
      properties: [
        {
          id: 'mappings',
          value: textMapping([
            ['1', 'yes', 'blue'],
            ['0', 'no', 'text'],
          ]),
        },
      ],
    },
  ],
});

export const moexOptions = buildDashboard(
  {
    uid: 'moex-options',
    title: 'MOEX options',
    description:
      'Options board ROPD: the volatility smile and open interest by strike of one underlying and expiry, the put/call open-interest ratio, at-the-money IV and the largest IV moves.',
    tags: ['moex', 'options'],
    variables: [underlyingVariable, expiryVariable],
  },
  [
    {
      row: '$underlying, expiry $expiry: now',
      panels: [
        [
          stat({
            title: 'Central strike',
            description: 'The at-the-money strike ISS names for this underlying and expiry (CENTRALSTRIKE).',
            targets: [prom(`max(moex_option_central_strike{${chosen}})`, 'central strike')],
            sparkline: true,
          }),
          6,
          4,
        ],
        [
          stat({
            title: 'Underlying settlement price',
            description: "The underlying's settlement price (UNDERLYINGSETTLEPRICE) the exchange values these series against.",
            targets: [prom(`max(moex_option_underlying_settle_price{${chosen}})`, 'underlying')],
            sparkline: true,
          }),
          6,
          4,
        ],
        [
          stat({
            title: 'At-the-money IV',
            description: 'Implied volatility (Options Calculator) of the call and the put at the central strike, percent.',
            targets: [prom(`max by (option_type) (${IV}{${chosen}} ${atTheMoney})`, '{{option_type}}')],
            unit: 'percent',
            decimals: 1,
            sparkline: true,
          }),
          6,
          4,
        ],
        [
          stat({
            title: 'Put/call open interest',
            description: 'Open interest of every put divided by that of every call, this underlying and expiry: above 1, more puts held.',
            targets: [
              prom(`sum(moex_option_open_interest{${chosen}, option_type="put"}) / sum(moex_option_open_interest{${chosen}, option_type="call"})`, 'put/call'),
            ],
            decimals: 2,
            sparkline: true,
          }),
          6,
          4,
        ],
      ],
    },
    {
      row: '$underlying, expiry $expiry: by strike',
      panels: [
        [
          xychart({
            title: 'Volatility smile',
            description: 'Implied volatility (percent, Options Calculator) of each strike, calls and puts, one point per series.',
            targets: byStrike((type) => `max by (strike) (${IV}{${chosen}, option_type="${type}"})`),
            transformations: [{ id: 'merge', options: {} }, strikeAsNumber, strikeColumns('Call IV %', 'Put IV %'), ascendingBy('Strike')],
            xLabel: 'Strike',
            yLabel: 'IV %',
            // Strikes of currency and commodity options have decimals (CNY 11.5, Brent 65.5).
            xDecimals: 2,
            decimals: 1,
          }),
          12,
          10,
        ],
        [
          barchart({
            title: 'Open interest by strike',
            description: 'Open positions (OPENPOSITION, contracts) of the call and the put of each strike.',
            targets: byStrike((type) => `sum by (strike) (moex_option_open_interest{${chosen}, option_type="${type}"})`),
            // Ordered by value, then back to text: the bar chart's categories are a text field.
            transformations: [
              { id: 'merge', options: {} },
              strikeAsNumber,
              ascendingBy('strike'),
              { id: 'convertFieldType', options: { fields: {}, conversions: [{ targetField: 'strike', destinationType: 'string' }] } },
              strikeColumns('Calls', 'Puts'),
            ],
            xField: 'Strike',
          }),
          12,
          10,
        ],
      ],
    },
    {
      row: 'Over time',
      panels: [
        [
          timeseries({
            title: 'Put/call open-interest ratio',
            description: 'Per underlying (every polled one), all its expiries: open interest of its puts divided by that of its calls.',
            targets: [
              prom(
                'sum by (underlying) (moex_option_open_interest{option_type="put"}) / sum by (underlying) (moex_option_open_interest{option_type="call"})',
                '{{underlying}}',
              ),
            ],
            decimals: 2,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Open interest, calls and puts ($underlying)',
            description: 'Contracts held, per expiry and type.',
            targets: [prom('sum by (expiry, option_type) (moex_option_open_interest{underlying="$underlying"})', '{{expiry}} {{option_type}}')],
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'At-the-money IV ($underlying)',
            description:
              'Implied volatility of the series at the central strike, per expiry and type, percent. When the underlying moves the central strike moves too, and the line continues with the new strike’s series.',
            targets: [prom(`${IV}{underlying="$underlying"} ${atTheMoney}`, '{{expiry}} {{option_type}} {{strike}}')],
            unit: 'percent',
            decimals: 1,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Underlying and central strike ($underlying)',
            description: "The underlying's settlement price and the central strike of each expiry.",
            targets: [
              prom('max by (expiry) (moex_option_underlying_settle_price{underlying="$underlying"})', 'underlying {{expiry}}'),
              prom('max by (expiry) (moex_option_central_strike{underlying="$underlying"})', 'central strike {{expiry}}'),
            ],
          }),
          12,
          8,
        ],
      ],
    },
    {
      row: 'Implied volatility moves',
      panels: [[largestMoves, 24, 9]],
    },
  ],
);
