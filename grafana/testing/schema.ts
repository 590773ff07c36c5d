/**
 * Grafana's dashboard JSON schema (vendored in grafana/schema/, see its README) as a
 * validator for the tests: test/unit/grafana-provisioning.test.ts checks every
 * provisioned dashboard with it.
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

export function dashboardValidator(schema: JsonObject = withAnyValueFixes(readDashboardSchema())): DashboardValidator {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // Snapshot timestamps are RFC 3339; no dashboard here has one.
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
  const validate = ajv.compile(schema);
  return (dashboard) => {
    if (validate(dashboard)) return [];
    return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}${e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ''}`);
  };
}
