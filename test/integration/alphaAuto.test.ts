// `--alpha auto` through the CLI on the bundled tiny models: init writes each bridged token's α into
// mapping.jsonl and the alphaAuto summary into report.json, consistent with the rule and with a
// fixed-α transfer at the same α; compare adds the "sembridge (α=auto)" row and its model folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALPHA_AUTO_HIGH, ALPHA_AUTO_LOW } from '../../src/core/adaptiveAlpha';
import type { TokenMapping } from '../../src/core/types';
import { cli } from '../helpers/captureCli';

const FIX = join(__dirname, '..', 'fixtures');
const SOURCE = join(FIX, 'models', 'bert-mlm-en');
const TARGET = join(FIX, 'tokenizers', 'ko-wordpiece');
const BRIDGE = join(FIX, 'models', 'bridge-multilingual');
const KO = join(FIX, 'corpus', 'ko');
const ready = existsSync(join(BRIDGE, 'onnx', 'model.onnx')) && existsSync(join(KO, 'corpus.jsonl'));
const work = mkdtempSync(join(tmpdir(), 'sb-alphaauto-'));
const cache = join(work, 'cache');
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const initArgs = (out: string, ...extra: string[]) => ['init', '--source', SOURCE, '--target-tokenizer', TARGET, '--bridge', BRIDGE, '--out', out, '--cache', cache, '--no-diagnostics', '--quiet', ...extra];
const readMapping = (dir: string): TokenMapping[] => readFileSync(join(dir, 'sembridge', 'mapping.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TokenMapping);
const readReport = (dir: string) => JSON.parse(readFileSync(join(dir, 'sembridge', 'report.json'), 'utf8'));

test('init --alpha auto: a per-token α in mapping.jsonl, the alphaAuto summary, and rows equal to fixed-α transfers at those α', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const out = join(work, 'auto');
  const r = await cli(...initArgs(out, '--alpha', 'auto', '--alpha-auto-support', '2-6'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /alpha auto \(support 2-6\): \d+ of \d+ bridged tokens moved off alpha 4/);
  const mapping = readMapping(out);
  const report = readReport(out);
  assert.equal(report.parameters.alpha, 'auto');
  const bridged = mapping.filter((m) => m.match === 'bridged');
  assert.ok(bridged.length > 10);
  for (const m of mapping) {
    if (m.match !== 'bridged') {
      assert.equal(m.alpha, undefined, `${m.match} token ${m.id} has no α`);
      continue;
    }
    assert.ok(typeof m.alpha === 'number' && m.alpha >= ALPHA_AUTO_LOW && m.alpha <= ALPHA_AUTO_HIGH, `token ${m.id}: α ${m.alpha}`);
    // in range, or at the end of [1.5, 8] the rule ran into
    const inRange = m.support >= 2 && m.support <= 6;
    assert.ok(inRange || (m.support > 6 && m.alpha === ALPHA_AUTO_HIGH) || (m.support < 2 && m.alpha === ALPHA_AUTO_LOW), `token ${m.id}: support ${m.support} at α ${m.alpha}`);
  }
  const s = report.alphaAuto;
  assert.deepEqual(s.range, { min: 2, max: 6 });
  assert.equal(s.tokens, bridged.length);
  assert.equal(s.keptAtStart, bridged.filter((m) => m.alpha === 4).length);
  assert.equal(s.raised, bridged.filter((m) => m.alpha! > 4).length);
  assert.equal(s.lowered, bridged.filter((m) => m.alpha! < 4).length);
  assert.equal(s.moved, s.raised + s.lowered);
  assert.ok(s.moved > 0, 'the narrow range moves some token off α = 4');
  assert.equal(s.quantiles.median, bridged.map((m) => m.alpha!).sort((a, b) => a - b)[Math.floor(bridged.length / 2)]);
  assert.equal(typeof report.timings.alphaAutoMs, 'number');

  // each token equals the fixed-α transfer at its α: check the two most common α values
  const byAlpha = new Map<number, TokenMapping[]>();
  for (const m of bridged) byAlpha.set(m.alpha!, [...(byAlpha.get(m.alpha!) ?? []), m]);
  const common = [...byAlpha.entries()].sort((a, b) => b[1].length - a[1].length).slice(0, 2);
  for (const [alpha, tokens] of common) {
    const fixedOut = join(work, `fixed-${alpha}`);
    const f = await cli(...initArgs(fixedOut, '--alpha', String(alpha)));
    assert.equal(f.code, 0, f.err);
    const fixed = readMapping(fixedOut);
    for (const m of tokens) assert.deepEqual({ ...m, alpha: undefined }, { ...fixed[m.id], alpha: undefined }, `token ${m.id} at α ${alpha}`);
    assert.equal(readReport(fixedOut).alphaAuto, undefined, 'a fixed α writes no alphaAuto summary');
    assert.ok(fixed.every((m) => m.alpha === undefined), 'nor per-token α');
  }
});

test('--alpha-auto-support is refused without --alpha auto, and a bad range names the option', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const a = await cli(...initArgs(join(work, 'bad1'), '--alpha', '4', '--alpha-auto-support', '2-16'));
  assert.equal(a.code, 1);
  assert.match(a.err, /--alpha-auto-support: applies only with --alpha auto/);
  const b = await cli(...initArgs(join(work, 'bad2'), '--alpha', 'auto', '--alpha-auto-support', '9-3'));
  assert.equal(b.code, 1);
  assert.match(b.err, /--alpha-auto-support: the support range must be/);
  const c = await cli(...initArgs(join(work, 'bad3'), '--alpha', 'automatic'));
  assert.match(c.err, /--alpha: must be a number > 1/);
  assert.equal(existsSync(join(work, 'bad2')), false);
});

test('compare --alpha 2,auto: a "sembridge (α=auto)" row after the numeric α, its model in models/sembridge-alphaauto', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const out = join(work, 'cmp');
  const r = await cli('compare', '--source', SOURCE, '--target-tokenizer', TARGET, '--bridge', BRIDGE, '--data', KO, '--methods', 'sembridge,random', '--alpha', 'auto,2', '--cache', cache, '--quiet', '--out', out, '--keep-models');
  assert.equal(r.code, 0, r.err);
  const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
  assert.deepEqual(json.parameters.alphas, [2, 'auto']);
  assert.deepEqual(json.table.rows.map((x: { label: string }) => x.label), ['base', 'sembridge (α=2)', 'sembridge (α=auto)', 'random']);
  const row = json.table.rows[2];
  assert.equal(row.alpha, 'auto');
  assert.ok(typeof row.cells[json.table.datasets[0]]['nDCG@10'] === 'number');
  assert.match(r.out, /\| sembridge \(α=auto\) \|/);
  const model = join(out, 'models', 'sembridge-alphaauto');
  assert.equal(readReport(model).parameters.alpha, 'auto');
  assert.deepEqual(readReport(model).alphaAuto.range, { min: 2, max: 16 });
  assert.ok(readMapping(model).some((m) => m.match === 'bridged' && typeof m.alpha === 'number'));
});
