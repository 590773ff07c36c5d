import path from 'node:path';
import { doc, hostname, nonEmpty, oneOf, text } from '../../lib/config';

/** The repository (dist/init/src/ → three folders up when built; init/src/ → two under tsx). */
export const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

/** `init` (compose) and `./runner.sh secrets` (docs/configuration.md). */
export const initShape = {
  SECRETS_DIR: doc("where the secrets are written (compose: the clone's secrets/ mounted into init)", text(path.join(ROOT, 'secrets'))),
  INFLUXDB_USER: doc("InfluxDB's read/write user: secrets/influxdb_token is <user>:<its password>", nonEmpty('pyexample', 'must name the InfluxDB user')),
};

/**
 * `./runner.sh urls`, `docker compose run --rm init urls` and init's log: the settings compose uses,
 * read as compose reads them (docs/configuration.md).
 */
export const urlsShape = {
  PROJECT_DIR: doc('the clone: its docker-compose.yml (published ports) and .env (compose: /project, the clone mounted into init)', text(ROOT)),
  BIND_ADDRESS: doc('host address of every published compose port; 0.0.0.0 publishes on every interface (docs/security.md)', hostname('127.0.0.1')),
  GRAFANA_ADMIN_USER: doc("Grafana's admin login", text('admin')),
  INFLUXDB_USER: doc("InfluxDB's read/write user", text('pyexample')),
  SECRETS_DIR: doc('where the passwords, web config and certificate are', text(path.join(ROOT, 'secrets'))),
  URLS_PROBE: doc(
    "probe each URL and check the certificate against this system's trust store (compose's init: false, it sees neither the host's ports nor its trust store)",
    oneOf('true', ['true', 'false']),
  ),
};
