import { startDaemon, type Daemon, type DaemonName, type DaemonOptions } from '../test/support/daemons';
import { sleep } from './stats';

/**
 * Ctrl-C or SIGTERM in the middle of a run. test/support stops every daemon and service it knows
 * of when the process exits, but a daemon still starting is not known yet: exiting at once would
 * leave it running. So the bench starts daemons through `startBenchDaemon`, and a signal waits for
 * the starts in flight before exiting (which then stops everything).
 */
let starting = 0;

export async function startBenchDaemon(name: DaemonName, options?: DaemonOptions): Promise<Daemon> {
  starting += 1;
  try {
    return await startDaemon(name, options);
  } finally {
    starting -= 1;
  }
}

/** Installs the handlers; call before anything is started (test/support adds its own only if none exist). */
export function exitCleanlyOnSignals(log: (line: string) => void): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping everything the bench started`);
      void (async () => {
        const deadline = Date.now() + 120_000;
        while (starting > 0 && Date.now() < deadline) await sleep(100);
        process.exit(code);
      })();
    });
  }
}
