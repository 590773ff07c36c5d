// The status page: polls the backend's own API and renders it. No framework, no CDN.
'use strict';

const REFRESH_MS = 5000;
const HISTORY_MS = 30000;
const STALE_AFTER_S = 1800; // ISS data is ~15 min delayed by design; beyond 30 min something is wrong.
const charts = new Map();
let lastHistoryAt = 0;

const $ = (selector) => document.querySelector(selector);
const fmt = (value, digits) =>
  value === null || value === undefined ? '—' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const price = (value) => (value === null ? '—' : value.toLocaleString('en-US', { maximumFractionDigits: 5, useGrouping: false }));
const age = (s) => (s === null ? '—' : s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

async function getJson(path) {
  // Against the origin, not the page's address: opened as https://user:password@host/, relative
  // URLs would carry the credentials and fetch() refuses those. The browser's login for this
  // origin still goes with every request.
  const res = await fetch(new URL(path, window.location.origin), { cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

function showMessage(text) {
  const box = $('#message');
  box.hidden = !text;
  box.textContent = text || '';
}

/** Groups of the quotes table, in the order a reader scans the market (docs/iss.md, markets). */
const GROUPS = [
  { title: 'Rates', market: 'selt' },
  { title: 'Indices', market: 'index' },
  { title: 'Shares and funds', market: 'shares' },
  { title: 'Bonds', market: 'bonds' },
  { title: 'Futures', market: 'forts' },
];

/** The market's own figures: a bond's yield and duration, a future's open interest, an index's capitalization. */
function marketData(q) {
  if (q.bondYield != null)
    return `yield ${fmt(q.bondYield, 2)} %${q.bondDuration != null ? ` · duration ${q.bondDuration} d` : ''}${q.daysToMaturity != null ? ` · matures in ${q.daysToMaturity} d` : ''}`;
  if (q.openInterest != null) return `open interest ${fmt(q.openInterest, 0)}${q.settlePrice != null ? ` · settle ${price(q.settlePrice)}` : ''}`;
  return [q.capitalization != null ? `cap. ${fmt(q.capitalization / 1e9, 1)} bn` : '', orderFlow(q.orderFlow)].filter((part) => part !== '').join(' · ');
}

// ALGOPACK's newest 5-minute bar of a share (docs/algopack.md); nothing at all without one.
function orderFlow(flow) {
  if (!flow) return '';
  const parts = [];
  if (flow.disbalance != null) parts.push(`flow ${flow.disbalance > 0 ? '+' : ''}${fmt(flow.disbalance, 2)}`);
  if (flow.boughtLots != null && flow.soldLots != null) parts.push(`bought/sold ${fmt(flow.boughtLots, 0)}/${fmt(flow.soldLots, 0)} lots`);
  return parts.join(' · ');
}

function renderQuotes(quotes) {
  const body = $('#quotes tbody');
  if (quotes.length === 0) {
    body.replaceChildren(
      el('tr', { class: 'placeholder' }, el('td', { colspan: '10' }, 'No quotes in Prometheus yet: is worker-prometheus polling and being scraped?')),
    );
    return;
  }
  const known = new Set(GROUPS.map((g) => g.market));
  const groups = [...GROUPS, { title: 'Other', market: null }]
    .map((g) => ({ ...g, quotes: quotes.filter((q) => (g.market === null ? !known.has(q.market) : q.market === g.market)) }))
    .filter((g) => g.quotes.length > 0);
  body.replaceChildren(
    ...groups.flatMap((g) => [
      el('tr', { class: 'group', 'data-market': g.market || 'other' }, el('th', { colspan: '10' }, g.title)),
      ...g.quotes.map(quoteRow),
    ]),
  );
}

function quoteRow(q) {
  const change = q.changePercent;
  const row = el(
    'tr',
    { 'data-ticker': q.ticker },
    el('td', { class: 'ticker', title: q.board }, q.ticker),
    el('td', { class: 'last' }, price(q.last ?? q.indexValue ?? null)),
    el('td', { class: `change ${change > 0 ? 'up' : change < 0 ? 'down' : ''}` }, change === null ? '—' : `${change > 0 ? '+' : ''}${fmt(change, 2)} %`),
    el('td', { class: 'bid' }, price(q.bid)),
    el('td', { class: 'offer' }, price(q.offer)),
    el('td', { class: 'volume' }, fmt(q.volume, 0)),
    el('td', { class: 'time' }, q.time ? new Date(q.time).toLocaleString() : '—'),
    el('td', { class: 'age' }, age(q.ageSeconds)),
    el('td', { class: 'delay' }, age(q.delaySeconds)),
    el('td', { class: 'market-data' }, marketData(q)),
  );
  if (q.ageSeconds !== null && q.ageSeconds > STALE_AFTER_S) row.classList.add('stale');
  return row;
}

/** What the feed's delay (SYSTIME − quote time, per quote) says about the source. */
function feedNote(quotes) {
  const delays = quotes.map((q) => q.delaySeconds).filter((d) => d !== null && d !== undefined);
  if (delays.length === 0) return '';
  const worst = Math.max(...delays);
  if (worst < 60) return `Feed delay ${age(worst)}: real-time data.`;
  return `Feed delay up to ${age(worst)}: quotes are that far behind the exchange (the anonymous MOEX ISS feed is delayed by 15 min; a subscriber's token gives real time). Ages include it.`;
}

function renderStatus(status) {
  $('#status').replaceChildren(
    ...status.components.map((c) =>
      el(
        'li',
        { 'data-component': c.name, 'data-ok': String(c.ok) },
        el('span', { class: 'name' }, `${c.ok ? '●' : '✖'} ${c.name}`),
        ' ',
        el('span', { class: 'latency' }, `${c.latencyMs} ms`),
        el('div', { class: 'detail' }, c.detail),
      ),
    ),
  );
}

// Firing alerts first (the backend sorts them), then the ones resolved in the past hour.
function renderAlerts(alerts) {
  const list = $('#alerts');
  const firing = alerts.filter((a) => a.status === 'firing').length;
  $('#alerts-panel').dataset.firing = String(firing);
  $('#alerts-title').textContent = firing ? `Alerts: ${firing} firing` : 'Alerts';
  if (alerts.length === 0) {
    list.replaceChildren(el('li', { class: 'placeholder' }, 'No alert firing.'));
    return;
  }
  const since = (iso) => age(Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)));
  list.replaceChildren(
    ...alerts.map((a) => {
      const where = [a.labels.ticker, a.labels.board, a.labels.instance].filter(Boolean).join(' · ');
      return el(
        'li',
        { 'data-alertname': a.alertname, 'data-status': a.status, 'data-severity': a.severity || 'none' },
        el('span', { class: 'name' }, `${a.status === 'firing' ? '▲' : '✓'} ${a.alertname}`),
        ' ',
        el('span', { class: 'severity' }, a.severity || ''),
        ' ',
        el('span', { class: 'when' }, a.status === 'firing' ? `firing for ${since(a.startsAt)}` : `resolved ${since(a.endsAt)} ago`),
        el('div', { class: 'summary' }, a.annotations.summary || where),
        where && a.annotations.summary ? el('div', { class: 'where' }, where) : '',
      );
    }),
  );
}

async function renderChart(ticker) {
  let holder = document.querySelector(`.chart[data-ticker="${ticker}"]`);
  if (!holder) {
    holder = el('div', { class: 'chart', 'data-ticker': ticker }, el('h3', {}, ticker), el('div', { class: 'plot' }));
    $('#charts').append(holder);
  }
  const plot = holder.querySelector('.plot');
  const { points } = await getJson(`/api/quotes/${encodeURIComponent(ticker)}/history?range=1h&step=30s`);
  const data = [points.map((p) => p[0]), points.map((p) => p[1])];
  if (points.length === 0) {
    charts.get(ticker)?.destroy();
    charts.delete(ticker);
    plot.replaceChildren(el('div', { class: 'empty' }, 'No history yet'));
    return;
  }
  const existing = charts.get(ticker);
  if (existing) return existing.setData(data);
  plot.replaceChildren();
  const width = Math.max(300, plot.clientWidth || 330);
  const options = {
    width,
    height: 180,
    legend: { show: false },
    // Always the past hour, so a fresh series with one point is not stretched over years.
    scales: { x: { time: true, range: () => [Date.now() / 1000 - 3600, Date.now() / 1000] } },
    series: [{}, { label: ticker, stroke: '#0969da', width: 1.5, points: { show: points.length < 3 } }],
    axes: [{}, { size: 60 }],
  };
  charts.set(ticker, new uPlot(options, data, plot));
}

// The options section: the index (/api/options, one entry per underlying and expiry), then only the
// chain chosen in the two lists; with ROPD=ALL the other ~30,000 series never reach the page.
const optionChoice = { underlying: '', expiry: '' };
let optionIndex = { underlyings: [] };
let shownChain = '';

/** Replaces a list's options only when they changed, so a refresh does not close it under the user. */
function setChoices(select, values, chosen, label) {
  if ([...select.options].map((o) => o.value).join('\n') !== values.join('\n')) {
    select.replaceChildren(...values.map((v) => el('option', { value: v }, label(v))));
  }
  select.value = chosen;
}

function chooseOption() {
  const underlyings = optionIndex.underlyings;
  const current = underlyings.find((u) => u.underlying === optionChoice.underlying) || underlyings[0];
  optionChoice.underlying = current ? current.underlying : '';
  const expiries = current ? current.expiries : [];
  const expiry = expiries.find((e) => e.expiry === optionChoice.expiry) || expiries[0];
  optionChoice.expiry = expiry ? expiry.expiry : '';
  setChoices(
    $('#option-underlying'),
    underlyings.map((u) => u.underlying),
    optionChoice.underlying,
    (u) => u,
  );
  setChoices(
    $('#option-expiry'),
    expiries.map((e) => e.expiry),
    optionChoice.expiry,
    (e) => {
      const x = expiries.find((y) => y.expiry === e);
      return `${e} (${x.calls} calls, ${x.puts} puts)`;
    },
  );
}

function optionsPlaceholder(state, text) {
  $('#options-panel').dataset.state = state;
  $('#option-summary').textContent = '';
  $('#option-chain tbody').replaceChildren(el('tr', { class: 'placeholder' }, el('td', { colspan: '17' }, text)));
  shownChain = '';
}

const signed = (v) => (v === null ? '—' : `${v > 0 ? '+' : ''}${fmt(v, 0)}`);
const iv = (v) => (v === null ? '—' : `${fmt(v, 1)} %`);
// One side's cells, calls mirrored so that each side reads outward from the strike.
const SIDE_CELLS = [
  ['iv', (s) => iv(s.impliedVolatility)],
  ['delta', (s) => fmt(s.delta, 2)],
  ['theor', (s) => price(s.theoreticalPrice)],
  ['oi-change', (s) => signed(s.openInterestChange)],
  ['oi', (s) => fmt(s.openInterest, 0)],
  ['last', (s) => price(s.last)],
  ['bid', (s) => price(s.bid)],
  ['offer', (s) => price(s.offer)],
];
const sideCells = (type, side, cells) =>
  cells.map(([name, show]) => el('td', { class: `${type}-${name}`, title: side ? side.ticker : '' }, side ? show(side) : ''));

function renderChain(chain) {
  const key = `${chain.underlying} ${chain.expiry}`;
  const fresh = key !== shownChain;
  shownChain = key;
  $('#options-panel').dataset.state = 'ok';
  $('#option-summary').textContent = [
    chain.centralStrike !== null ? `central strike ${price(chain.centralStrike)}` : '',
    chain.underlyingPrice !== null ? `underlying settle ${price(chain.underlyingPrice)}` : '',
    `${chain.rows.length} strikes`,
  ]
    .filter(Boolean)
    .join(' · ');
  const putCells = [...SIDE_CELLS.slice(5), ...SIDE_CELLS.slice(0, 5).reverse()];
  $('#option-chain tbody').replaceChildren(
    ...chain.rows.map((r) =>
      el(
        'tr',
        { 'data-strike': r.strike, 'data-atm': String(r.atTheMoney), ...(r.atTheMoney ? { class: 'atm' } : {}) },
        ...sideCells('call', r.call, SIDE_CELLS),
        el('td', { class: 'strike' }, r.strike),
        ...sideCells('put', r.put, putCells),
      ),
    ),
  );
  // A new chain opens at the money, inside its own scroll box (the page itself does not move).
  const atm = $('#option-chain tr.atm');
  if (fresh && atm) {
    const box = $('#options-panel .chain-scroll');
    box.scrollTop = atm.offsetTop - box.clientHeight / 2;
  }
}

async function refreshChain() {
  const { underlying, expiry } = optionChoice;
  if (!underlying || !expiry) return optionsPlaceholder('none', 'No option series polled (MOEX_SOURCES futures/options/ROPD=..., docs/configuration.md).');
  try {
    const chain = await getJson(`/api/options/${encodeURIComponent(underlying)}/${encodeURIComponent(expiry)}`);
    // The user may have chosen another chain while this one was on its way.
    if (underlying === optionChoice.underlying && expiry === optionChoice.expiry) renderChain(chain);
  } catch (err) {
    if (underlying === optionChoice.underlying && expiry === optionChoice.expiry) optionsPlaceholder('error', `Cannot read the chain: ${err.message}.`);
  }
}

async function refreshOptions() {
  try {
    optionIndex = await getJson('/api/options');
  } catch (err) {
    return optionsPlaceholder('error', `Cannot read options: ${err.message}.`);
  }
  chooseOption();
  await refreshChain();
}

$('#option-underlying').addEventListener('change', (event) => {
  optionChoice.underlying = event.target.value;
  optionChoice.expiry = '';
  chooseOption();
  refreshChain();
});
$('#option-expiry').addEventListener('change', (event) => {
  optionChoice.expiry = event.target.value;
  refreshChain();
});

async function refresh() {
  const options = refreshOptions();
  const [quotes, status, alerts] = await Promise.allSettled([getJson('/api/quotes'), getJson('/api/status'), getJson('/api/alerts')]);
  if (status.status === 'fulfilled') renderStatus(status.value);
  if (alerts.status === 'fulfilled') renderAlerts(alerts.value.alerts);
  if (quotes.status === 'rejected') {
    document.body.dataset.state = 'error';
    showMessage(`Cannot read quotes: ${quotes.reason.message}. Showing the last data received.`);
  } else {
    const list = quotes.value.quotes;
    $('#simulated').hidden = !quotes.value.simulated;
    renderQuotes(list);
    $('#feed-note').textContent = feedNote(list);
    document.body.dataset.state = list.length ? 'ok' : 'empty';
    const stale = list.filter((q) => q.ageSeconds !== null && q.ageSeconds > STALE_AFTER_S).map((q) => q.ticker);
    const down = status.status === 'fulfilled' ? status.value.components.filter((c) => !c.ok).map((c) => c.name) : [];
    showMessage(
      [stale.length ? `Stale quotes (older than ${STALE_AFTER_S / 60} min): ${stale.join(', ')}.` : '', down.length ? `Unhealthy: ${down.join(', ')}.` : '']
        .filter(Boolean)
        .join(' '),
    );
    // Charts refresh every 30 s, and on every refresh while one is still without a line.
    const incomplete = list.some((q) => !charts.has(q.ticker) || charts.get(q.ticker).data[0].length < 2);
    if (incomplete || Date.now() - lastHistoryAt > HISTORY_MS) {
      lastHistoryAt = Date.now();
      await Promise.allSettled(list.map((q) => renderChart(q.ticker)));
    }
  }
  await options;
  $('#updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function loop() {
  try {
    await refresh();
  } finally {
    setTimeout(loop, REFRESH_MS);
  }
}
loop();
