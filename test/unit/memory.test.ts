import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { peakRssMiB } from '../../src/core/memory';

// getrusage's maxRSS of a spawned process starts at its parent's resident size (Linux keeps the
// pre-exec high-water mark); every per-child figure of compare and the benchmarks would carry it.
test('peakRssMiB is the process’s own peak, not its parent’s pages at fork', { skip: process.platform !== 'linux' && 'VmHWM is Linux-only' }, () => {
  const ballast = Buffer.alloc(400 * 2 ** 20, 1); // resident in this process when the child forks
  const probe = `const { peakRssMiB } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'core', 'memory.ts'))});
    console.log(JSON.stringify({ own: peakRssMiB(), getrusage: process.resourceUsage().maxRSS / 1024 }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', probe], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { own, getrusage } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { own: number; getrusage: number };
  assert.ok(ballast[ballast.length - 1] === 1);
  assert.ok(own > 10 && own < 300, `child's own peak ${own} MiB`);
  // the reason for the helper: getrusage reports at least the parent's 400 MiB ballast
  assert.ok(getrusage > 400, `getrusage ${getrusage} MiB`);
  assert.ok(peakRssMiB() > 400, 'this process holds the ballast');
});
