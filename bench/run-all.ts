// Runs every benchmark one after the other, each printing its own ratios against a baseline measured
// in the same run. Default: quick sizes that finish in a few minutes on 2 cores; `--full` runs the
// sizes the issues ask for (reconstruct at N=100,000, index at 100,000 passages, real-size init).
//   npm run bench            # quick
//   npm run bench -- --full  # the issues' sizes (tens of minutes)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const full = process.argv.includes('--full');
const benches: Array<[file: string, quick: string[], fullArgs: string[]]> = [
  ['reconstruct.bench.ts', ['--small'], []],
  ['alphaAuto.bench.ts', [], ['--rows', '30000', '--sources', '30522', '--bridge-dim', '1024', '--dim', '768']],
  ['index.bench.ts', ['--docs', '20000', '--queries', '100'], []],
  ['bridge.bench.ts', [], []],
  ['encode.bench.ts', [], []],
  ['activation.bench.ts', [], []],
  ['realsize.bench.ts', ['--layers', '2'], []],
];

let failed = 0;
for (const [file, quick, fullArgs] of benches) {
  const path = join(__dirname, file);
  if (!existsSync(path)) continue;
  const args = full ? fullArgs : quick;
  console.log(`\n===== ${file} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path, ...args], {
    stdio: 'inherit',
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
  });
  if (r.status !== 0) {
    failed++;
    console.log(`===== ${file} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
