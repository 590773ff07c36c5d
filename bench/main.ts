/**
 * `./runner.sh bench [--quick]`: what users of the pipeline care about, each figure next to a
 * reference measured in the same run, printed as one markdown table. Loopback only.
 */
import os from 'node:os';
import { measureBackendApi } from './backend-api';
import { describeMachine } from './machine';
import { benchOptions } from './options';
import { markdownTable, type Row } from './table';
import { startDefaultPollSoak, type Soak } from './default-poll-soak';
import { footprintRows } from './footprint';
import { issWireRows } from './iss-wire-cost';
import { measureFreshness } from './freshness';
import { runPollers, type PollerRun } from './poller-run';
import { measureScaleCurve } from './scale-curve';
import { measureScrapeCost } from './scrape-cost';
import { exitCleanlyOnSignals } from './signals';
import { measureSpoolCost } from './spool-cost';
import { wireCostRows } from './wire-cost';

type Part = { name: string; run: () => Promise<Row[]> };

async function main() {
  const options = benchOptions(process.argv.slice(2));
  const machine = describeMachine();
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  exitCleanlyOnSignals(log);
  const only = process.argv
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const wanted = (name: string) => !only || only.includes(name);
  // Started first and read last, so the default-poll footprint spans the whole run.
  let soak: Soak | null = null;
  let pollerRun: PollerRun | null = null;
  if (wanted('footprint')) {
    log('footprint: starting the default-poll soak (read at the end)');
    soak = await startDefaultPollSoak();
  }
  const parts: Part[] = [
    { name: 'scrape', run: () => measureScrapeCost(options, log) },
    {
      name: 'footprint',
      run: async () => {
        pollerRun = await runPollers(options, log);
        return wireCostRows(pollerRun);
      },
    },
    // Part 5 too, without the pollers: what a board's ISS requests cost on the wire, choice by choice.
    { name: 'iss-wire', run: () => issWireRows(log) },
    { name: 'freshness', run: () => measureFreshness(options, log) },
    { name: 'backend', run: () => measureBackendApi(options, log) },
    { name: 'scale', run: () => measureScaleCurve(options, log) },
    { name: 'spool', run: () => measureSpoolCost(options, log) },
  ];
  const rows: Row[] = [];
  const started = Date.now();
  for (const part of parts) {
    if (!wanted(part.name)) continue;
    const t = Date.now();
    log(`${part.name}: starting`);
    rows.push(...(await part.run()));
    log(`${part.name}: done in ${Math.round((Date.now() - t) / 1000)} s`);
  }
  if (soak && pollerRun) {
    const soakResult = await soak.finish();
    // Footprint first in its section order: rows are sorted by section below.
    rows.push(...footprintRows(pollerRun, soakResult));
  }
  rows.sort((a, b) => a.section.localeCompare(b.section));
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const loadAtEnd = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  process.stdout.write(
    `${machine}\n- Load average when the run ended: ${loadAtEnd}\n- Mode: ${options.quick ? 'quick' : 'full'}; ran ${minutes} min\n\n${markdownTable(rows)}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    // process.exit runs the exit hooks of test/support: every service and daemon started is stopped.
    process.exit(1);
  },
);
