// Runs a range of one kind's fuzz cases in-process and appends one JSON line per event to a results
// file (synchronously, so a case that kills the process, e.g. a V8 out-of-memory, is still known).
// Usage: node --import tsx test/helpers/fuzzChild.ts KIND_INDEX START END SEED BASE_JSON WORK_DIR RESULTS
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kinds, runCase, type Base } from './fuzzCases';
import { FuzzRng } from './fuzzMutator';

/** The seed of one case: independent of the others, so a run can restart after any case. */
export function caseSeed(seed: number, kind: number, i: number): number {
  return (seed + 7919 * kind + 104729 * i) >>> 0;
}

async function main(): Promise<void> {
  const [k, start, end, seed] = process.argv.slice(2, 6).map(Number);
  const [baseJson, work, results] = process.argv.slice(6, 9);
  const base = JSON.parse(readFileSync(baseJson, 'utf8')) as Base;
  const kind = kinds(base)[k];
  for (let i = start; i < end; i++) {
    const caseDir = join(work, `${k}-${i}`);
    rmSync(caseDir, { recursive: true, force: true });
    mkdirSync(caseDir, { recursive: true });
    let label = '(making the case)';
    appendFileSync(results, JSON.stringify({ event: 'start', i, label }) + '\n');
    const c = await kind.make(new FuzzRng(caseSeed(seed, k, i)), caseDir);
    label = c.label;
    appendFileSync(results, JSON.stringify({ event: 'start', i, label }) + '\n');
    const { outcome, detail } = await runCase(c, caseDir);
    appendFileSync(results, JSON.stringify({ event: 'done', i, label, outcome, detail }) + '\n');
    if (outcome === 'refused' || outcome === 'succeeded') rmSync(caseDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(3);
    },
  );
}
