/**
 * Writes grafana/dashboards/*.json from the dashboard definitions in this folder.
 *   node --import tsx grafana/generator/main.ts          # rewrite the JSON
 *   node --import tsx grafana/generator/main.ts --check  # exit 1 if the JSON is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { moexGraphite } from './moex-graphite';
import { moexInfluxdb } from './moex-influxdb';
import { moexMarkets } from './moex-markets';
import { moexOptions } from './moex-options';
import { moexOrderFlow } from './moex-order-flow';
import { moexPrometheus } from './moex-prometheus';
import { stackHealth } from './stack-health';

export const DASHBOARD_DIR = path.resolve(__dirname, '..', 'dashboards');

/** File name → the exact JSON text committed in grafana/dashboards/. */
export function renderDashboards(): Map<string, string> {
  const dashboards = {
    'moex-prometheus.json': moexPrometheus,
    'moex-graphite.json': moexGraphite,
    'moex-influxdb.json': moexInfluxdb,
    'moex-markets.json': moexMarkets,
    'moex-order-flow.json': moexOrderFlow,
    'moex-options.json': moexOptions,
    'stack-health.json': stackHealth,
  };
  return new Map(Object.entries(dashboards).map(([file, d]) => [file, `${JSON.stringify(d, null, 2)}\n`]));
}

function main(): void {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, text] of renderDashboards()) {
    const target = path.join(DASHBOARD_DIR, file);
    if (check) {
      let current = '';
      try {
        current = readFileSync(target, 'utf8');
      } catch {
        // missing counts as stale
      }
      if (current !== text) {
        console.error(`stale: grafana/dashboards/${file}`);
        stale++;
      }
    } else {
      writeFileSync(target, text);
      console.log(`wrote grafana/dashboards/${file}`);
    }
  }
  if (stale > 0) process.exit(1);
}

if (require.main === module) main();
