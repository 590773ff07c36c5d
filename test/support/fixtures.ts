import { readFileSync } from 'node:fs';
import path from 'node:path';

/** An ISS answer recorded in test/fixtures/iss/, as parsed JSON. */
export function issFixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'iss', `${name}.json`), 'utf8'));
}
