/**
 * Grafana's dashboard and panel JSON schemas (vendored in grafana/schema/, see its README)
 * as validators for the tests: test/unit/grafana-provisioning.test.ts checks every
 * provisioned dashboard, and every panel's options and custom field config, with them.
 */
import Ajv, { type ErrorObject } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GRAFANA_DIR } from './dashboards';

export const DASHBOARD_SCHEMA_FILE = path.join(GRAFANA_DIR, 'schema', 'dashboard.jsonschema.json');

type JsonObject = Record<string, unknown>;

/**
 * Places where the SDK's JSON Schema export says `{"type": "object"}` for what the
 * dashboard kind (and the SDK's own TypeScript types) declare as "any value":
 * the schema then rejects dashboards Grafana writes itself, e.g. a "byName" override
 * (`matcher.options` is the field name, a string) or a Graphite variable query
 * (`{"target": "stocks.*"}`). Each is replaced by `{}` (any value); the unit test
 * proves each one is still needed.
 */
export const ANY_VALUE_FIXES: ReadonlyArray<{ pointer: string; why: string }> = [
  { pointer: '/definitions/MatcherConfig/properties/options', why: 'MatcherConfig.options is `any` (a field name for byName)' },
  { pointer: '/definitions/DynamicConfigValue/properties/value', why: 'DynamicConfigValue.value is `any` (a unit string, a number)' },
  { pointer: '/definitions/VariableModel/properties/query/oneOf/1/additionalProperties', why: 'VariableModel.query is `string | Record<string, any>`' },
];

export function readDashboardSchema(): JsonObject {
  return JSON.parse(readFileSync(DASHBOARD_SCHEMA_FILE, 'utf8')) as JsonObject;
}

/** A copy of `schema` with the `{}` of each pointer in `fixes`; a pointer that names nothing throws. */
export function withAnyValueFixes(schema: JsonObject, fixes = ANY_VALUE_FIXES): JsonObject {
  const copy = structuredClone(schema);
  for (const { pointer } of fixes) {
    const keys = pointer.slice(1).split('/');
    const last = keys.pop() as string;
    let node: unknown = copy;
    for (const key of keys) node = (node as JsonObject | undefined)?.[key];
    if (node === null || typeof node !== 'object' || !(last in node)) throw new Error(`schema has no ${pointer}`);
    (node as JsonObject)[last] = {};
  }
  return copy;
}

/** "/panels/3/gridPos: must have required property 'w'" per problem; [] when valid. */
export type DashboardValidator = (dashboard: unknown) => string[];

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // Snapshot timestamps are RFC 3339; no dashboard here has one.
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
  return ajv;
}

function describeErrors(errors: ErrorObject[] | null | undefined, prefix = ''): string[] {
  return (errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
    return `${prefix}${e.instancePath || '/'}: ${e.message ?? e.keyword}${extra}`;
  });
}

export function dashboardValidator(schema: JsonObject = withAnyValueFixes(readDashboardSchema())): DashboardValidator {
  const validate = newAjv().compile(schema);
  return (dashboard) => (validate(dashboard) ? [] : describeErrors(validate.errors));
}

/** Panel types with a vendored schema (grafana/schema/<type>.jsonschema.json): their `Options` and `FieldConfig`. */
export const PANEL_SCHEMA_TYPES = ['timeseries', 'stat', 'table', 'heatmap', 'xychart', 'candlestick', 'barchart'] as const;

export interface PanelLike {
  type: string;
  options?: unknown;
  fieldConfig?: { defaults?: { custom?: unknown } };
}

/**
 * Checks a panel's `options` against its plugin's `Options` and `fieldConfig.defaults.custom`
 * against its `FieldConfig` (the dashboard schema leaves both open: they depend on the panel
 * plugin). A type without a vendored schema is an error, so a new panel type needs one.
 */
export function panelValidator(): (panel: PanelLike) => string[] {
  const ajv = newAjv();
  const byType = new Map(
    PANEL_SCHEMA_TYPES.map((type) => {
      const schema = JSON.parse(readFileSync(path.join(GRAFANA_DIR, 'schema', `${type}.jsonschema.json`), 'utf8')) as { definitions: JsonObject };
      ajv.addSchema(schema, type);
      const part = (name: string) => (name in schema.definitions ? ajv.getSchema(`${type}#/definitions/${name}`) : undefined);
      return [type as string, { options: part('Options'), custom: part('FieldConfig') }];
    }),
  );
  return (panel) => {
    const parts = byType.get(panel.type);
    if (!parts) return [`panel type ${panel.type} has no schema in grafana/schema/`];
    const errors: string[] = [];
    if (parts.options && !parts.options(panel.options ?? {})) errors.push(...describeErrors(parts.options.errors, 'options'));
    const custom = panel.fieldConfig?.defaults?.custom ?? {};
    if (parts.custom && !parts.custom(custom)) errors.push(...describeErrors(parts.custom.errors, 'fieldConfig.defaults.custom'));
    return errors;
  };
}
