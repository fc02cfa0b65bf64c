// Seeded fuzzing of every kind of input the CLI reads (cases: test/helpers/fuzzCases.ts, mutations:
// test/helpers/fuzzMutator.ts). Each kind runs in a child process (two at a time), its cases
// in-process there, so a case that kills the process (out of memory) or blocks it (a hang) is caught
// and the run resumes at the next case. Every case must end in a clean refusal (non-zero exit, a
// message naming the file, no stack trace) or a correct success; the counts per input kind are
// printed for the closing note. FUZZ_SEED replays a run, FUZZ_SCALE multiplies the case counts,
// FUZZ_ONLY (part of a kind's name) runs one kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBase, FIX, hashTree, kinds, ready, type Outcome } from '../helpers/fuzzCases';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const CHILD = join(__dirname, '..', 'helpers', 'fuzzChild.ts');
/** a child that reports nothing for this long is killed and its current case counted as a hang */
const SILENCE_MS = 120_000;

interface Result {
  i: number;
  label: string;
  outcome: Outcome;
  detail: string;
}

function readResults(file: string): { done: Result[]; started?: { i: number; label: string } } {
  if (!existsSync(file)) return { done: [] };
  const done: Result[] = [];
  let started: { i: number; label: string } | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line);
    if (e.event === 'start') started = { i: e.i, label: e.label };
    else {
      done.push(e);
      started = undefined;
    }
  }
  return { done, started };
}

/** Runs cases [0, n) of kind k, restarting the child after a case that ends it. */
async function runKind(k: number, n: number, baseJson: string, work: string): Promise<Result[]> {
  const results = join(work, `results-${k}.jsonl`);
  const all: Result[] = [];
  let next = 0;
  while (next < n) {
    writeFileSync(results, '');
    const child = spawn(process.execPath, ['--max-old-space-size=1024', '--import', 'tsx', CHILD, String(k), String(next), String(n), String(SEED), baseJson, work, results], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    let lastSize = 0;
    let lastChange = Date.now();
    let killedForSilence = false;
    const watch = setInterval(() => {
      const size = existsSync(results) ? readFileSync(results).length : 0;
      if (size !== lastSize) [lastSize, lastChange] = [size, Date.now()];
      else if (Date.now() - lastChange > SILENCE_MS) {
        killedForSilence = true;
        child.kill('SIGKILL');
      }
    }, 1000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearInterval(watch);
    const { done, started } = readResults(results);
    all.push(...done);
    if (started) {
      const why = killedForSilence ? 'hang' : 'crash';
      const tail = stderr.split('\n').find((l) => /FATAL|Error/.test(l)) ?? stderr.trim().split('\n').pop() ?? '';
      all.push({ i: started.i, label: started.label, outcome: why, detail: `${killedForSilence ? `no progress in ${SILENCE_MS / 1000} s` : `the process died (exit ${code})`}: ${tail.slice(0, 200)}` });
      next = started.i + 1;
    } else if (code !== 0) {
      throw new Error(`fuzz child for kind ${k} failed (exit ${code}): ${stderr.slice(-2000)}`);
    } else next = n;
  }
  return all;
}

test('fuzz: every input kind is refused cleanly or read correctly', { timeout: 20 * 60_000 }, async (t) => {
  if (!ready) return t.skip('fixtures not generated yet');
  const fixturesBefore = hashTree(FIX);
  const base = await buildBase();
  const work = mkdtempSync(join(tmpdir(), 'sb-fuzz-'));
  const baseJson = join(work, 'base.json');
  writeFileSync(baseJson, JSON.stringify(base));
  const all = kinds(base);
  const rows: string[] = [];
  const failures: string[] = [];
  try {
    // two children at a time (CI has two cores); the slowest kinds first
    const only = process.env.FUZZ_ONLY; // a substring of kind names, to replay one kind
    const order = all.map((_, k) => k).filter((k) => !only || all[k].name.includes(only)).sort((a, b) => all[b].cases * all[b].costPerCase - all[a].cases * all[a].costPerCase);
    const byKind = new Map<number, { results: Result[]; seconds: number }>();
    const queue = [...order];
    await Promise.all([0, 1].map(async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
        const started = Date.now();
        const results = await runKind(k, Math.max(1, Math.round(all[k].cases * SCALE)), baseJson, work);
        byKind.set(k, { results, seconds: (Date.now() - started) / 1000 });
      }
    }));
    for (const [k, kind] of all.entries()) {
      if (!byKind.has(k)) continue;
      const { results, seconds } = byKind.get(k)!;
      const counts: Record<string, number> = {};
      let failed = 0;
      for (const r of results) {
        const ok = r.outcome === 'refused' || r.outcome === 'succeeded';
        counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
        if (!ok) {
          failures.push(`[${kind.name}] #${r.i} ${r.label}: ${r.outcome}: ${r.detail}`);
          failed++;
        }
      }
      const other = Object.entries(counts).filter(([o]) => o !== 'refused' && o !== 'succeeded').map(([o, c]) => `${o}: ${c}`).join(', ');
      rows.push(`| ${kind.name} | ${results.length} | ${counts.refused ?? 0} | ${counts.succeeded ?? 0} | ${failed} | ${other || '—'} | ${seconds.toFixed(0)} s |`);
    }
  } finally {
    console.log(`fuzz seed ${SEED}, scale ${SCALE}\n| input kind | cases | refused | succeeded | failures | not ok, by kind | time |\n|---|---|---|---|---|---|---|\n${rows.join('\n')}`);
    if (failures.length) console.log(`failures (${failures.length}); case folders kept under ${work}:\n  ${failures.join('\n  ')}`);
    else rmSync(work, { recursive: true, force: true });
    rmSync(base.dir, { recursive: true, force: true });
  }
  assert.equal(hashTree(FIX), fixturesBefore, 'the fixtures were modified');
  assert.deepEqual(failures, []);
});
