/**
 * `init` (the compose service) and `./runner.sh secrets [--force]`: writes the secrets a fresh
 * install lacks (init/src/secrets.ts) and exits 0; nothing is printed but file names. With `--urls`
 * (`./runner.sh init`, what compose runs) it then prints where the stack's services are, so that
 * `docker compose logs init` tells a host without Node what `./runner.sh urls` would.
 */
import { loadConfig } from '../../lib/config';
import { initShape } from './config';
import { writeSecrets } from './secrets';
import { loadUrlsConfig, urlsReport } from './urls';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.some((a) => a !== '--force' && a !== '--urls')) {
    process.stderr.write('usage: ./runner.sh secrets [--force]   (--force replaces every file: new passwords, see docs/security.md)\n');
    process.exit(2);
  }
  const config = loadConfig(initShape);
  await writeSecrets({
    dir: config.SECRETS_DIR,
    influxUser: config.INFLUXDB_USER,
    force: args.includes('--force'),
    say: (line) => process.stderr.write(`secrets: ${line}\n`),
  });
  process.stderr.write(`secrets: done: ${config.SECRETS_DIR} holds the passwords, web config and certificate (docs/security.md)\n`);
  if (args.includes('--urls')) process.stdout.write(`${(await urlsReport(loadUrlsConfig(), false)).join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`secrets: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
