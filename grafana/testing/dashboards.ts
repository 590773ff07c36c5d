/**
 * Reading the provisioned Grafana files the way Grafana does, for the tests:
 * test/unit/grafana-provisioning.test.ts (shape) and
 * test/integration/dashboards.test.ts (every query against the live stores).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const GRAFANA_DIR = path.resolve(__dirname, '..');
export const DASHBOARD_DIR = path.join(GRAFANA_DIR, 'dashboards');
export const DATASOURCES_FILE = path.join(GRAFANA_DIR, 'provisioning', 'datasources', 'datasources.yml');
export const DASHBOARD_PROVIDERS_FILE = path.join(GRAFANA_DIR, 'provisioning', 'dashboards', 'dashboards.yml');

/** Panel types that draw without a query (no datasource, no targets). */
export const QUERYLESS_PANEL_TYPES = new Set(['row', 'text', 'grafana-clock-panel']);
/** Grafana's built-in annotation datasource. */
export const GRAFANA_BUILTIN_UID = '-- Grafana --';

export interface ProvisionedDatasource {
  name: string;
  uid: string;
  type: string;
  url: string;
  isDefault?: boolean;
  user?: string;
  jsonData?: Record<string, unknown>;
  secureJsonData?: Record<string, unknown>;
}

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface GrafanaTarget {
  refId: string;
  datasource?: DatasourceRef | string | null;
  hide?: boolean;
  [key: string]: unknown;
}

export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: DatasourceRef | string | null;
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  /** Grafana's min interval for this panel's queries ("1m"). */
  interval?: string;
  /** A variable name: Grafana draws one copy of the panel per selected value. */
  repeat?: string;
  maxDataPoints?: number;
  [key: string]: unknown;
}

export interface GrafanaVariable {
  name: string;
  type: string;
  datasource?: DatasourceRef | string | null;
  query?: unknown;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
  regex?: string;
  sort?: number;
  [key: string]: unknown;
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating?: { list: GrafanaVariable[] };
  time?: { from: string; to: string };
  annotations?: { list: Array<{ datasource?: DatasourceRef | string }> };
  [key: string]: unknown;
}

export function readYaml(file: string): unknown {
  return parse(readFileSync(file, 'utf8'));
}

export function loadDatasources(file = DATASOURCES_FILE): ProvisionedDatasource[] {
  const doc = readYaml(file) as { datasources?: ProvisionedDatasource[] };
  return doc.datasources ?? [];
}

/** Every dashboard file, parsed: file name → dashboard. */
export function loadDashboards(dir = DASHBOARD_DIR): Map<string, GrafanaDashboard> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return new Map(files.map((f) => [f, JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as GrafanaDashboard]));
}

/** Top-level panels plus those folded inside collapsed rows. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Panels that run queries: everything but rows, text and the clock. */
export function queryPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return allPanels(dashboard).filter((p) => !QUERYLESS_PANEL_TYPES.has(p.type));
}

export function variables(dashboard: GrafanaDashboard): GrafanaVariable[] {
  return dashboard.templating?.list ?? [];
}

/** The datasource uid a target queries: its own, else its panel's (Grafana's rule). */
export function targetDatasourceUid(panel: GrafanaPanel, target: GrafanaTarget): string | undefined {
  const ref = target.datasource ?? panel.datasource;
  return typeof ref === 'object' && ref !== null ? ref.uid : undefined;
}
