import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** ops/demo.sh's values, as a shell that sources it sees them: what both demos poll. */
export function demoSettings(): { DEMO_SOURCES: string; DEMO_ALGOPACK: string } {
  const out = execFileSync('bash', ['-c', '. ops/demo.sh && printf "%s\\0%s" "$DEMO_SOURCES" "$DEMO_ALGOPACK"'], { cwd: ROOT, encoding: 'utf8' });
  const [DEMO_SOURCES = '', DEMO_ALGOPACK = ''] = out.split('\0');
  return { DEMO_SOURCES, DEMO_ALGOPACK };
}

/**
 * What `./runner.sh demo` sets when the caller sets none of it: each `NAME=${NAME-default}` of its
 * demo command, a `$DEMO_...` default read from ops/demo.sh.
 */
export function nativeDemoEnv(): Record<string, string> {
  const demo = /^\s*demo\)([\s\S]*?);;/m.exec(fs.readFileSync(path.join(ROOT, 'runner.sh'), 'utf8'));
  if (!demo) throw new Error('runner.sh has no demo command');
  const shared: Record<string, string> = demoSettings();
  return Object.fromEntries(
    [...demo[1]!.matchAll(/\b([A-Z_]+)=\$\{\1:?-([^}]+)\}/g)].map((m) => [m[1]!, m[2]!.replace(/^\$([A-Z_]+)$/, (ref, name: string) => shared[name] ?? ref)]),
  );
}
