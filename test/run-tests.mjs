// Runs the TypeScript test files of the named suites (test/<suite>/**/*.test.ts) with Node's own
// test runner, loading TypeScript through tsx. Usage: node test/run-tests.mjs unit integration
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : name.endsWith('.test.ts') ? [p] : [];
  });
}
const suites = process.argv.slice(2);
const files = (suites.length ? suites : ['unit']).flatMap((s) => find(join('test', s))).sort();
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
});
process.exit(r.status ?? 1);
