// The output-folder rules through the real commands (issue 14, "Data loss"): an existing folder that is
// not a SemBridge output of the same kind is refused and untouched, inputs are never overwritten (not
// even with --force), two runs on one output take turns, and the source model is never modified.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/captureCli';
import { outputLockPath } from '../../src/core/atomicOutput';
import { hashFolder } from '../../src/core/model/hfFolder';
import { OUTPUT_MARKER, outputKindOf } from '../../src/core/outputGuard';
import { DEMO_MODELS_NOTICE } from '../../src/core/demoModels';

const ROOT = join(__dirname, '..', '..');
const FIX = join(ROOT, 'test', 'fixtures');
const SOURCE = join(FIX, 'models', 'bert-mlm-en');
const TARGET = join(FIX, 'tokenizers', 'ko-wordpiece');
const BRIDGE = join(FIX, 'models', 'bridge-multilingual');
const KO = join(FIX, 'corpus', 'ko');
const ready = existsSync(join(SOURCE, 'onnx', 'model.onnx')) && existsSync(join(BRIDGE, 'onnx', 'model.onnx')) && existsSync(TARGET);
let work: string;
let cache: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'sb-outdirs-'));
  cache = join(work, 'cache');
});
after(() => rmSync(work, { recursive: true, force: true }));


/** `sembridge` in its own process (tsx from the sources). */
function cliProcess(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else out[r] = readFileSync(join(d, e.name)).toString('base64');
    }
  };
  walk(dir, '');
  return out;
}

function userFolder(dir: string, files: Record<string, string> = { 'precious.txt': 'years of work', 'sub/notes.md': '# notes' }): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
}

const initArgs = (out: string, ...extra: string[]) => ['init', '--source', SOURCE, '--target-tokenizer', TARGET, '--bridge', BRIDGE, '--out', out, '--cache', cache, '--no-diagnostics', '--quiet', ...extra];

/** One line, naming the path, no stack trace. */
function assertRefusal(r: { code: number | null; err: string }, path: string, why: RegExp): void {
  assert.notEqual(r.code, 0, 'refused');
  assert.ok(r.err.includes(path), `the message names ${path}: ${r.err}`);
  assert.match(r.err, why);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
}

test('init refuses an existing folder that is not a SemBridge model, and replaces one that is', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const out = join(work, 'existing');
  userFolder(out);
  const beforeFiles = snapshot(out);
  const refused = await cli(...initArgs(out));
  assertRefusal(refused, out, /exists and is not a SemBridge model folder .*--force/);
  assert.deepEqual(snapshot(out), beforeFiles, 'precious.txt and sub/notes.md untouched');

  const fresh = join(work, 'fresh');
  const first = await cli(...initArgs(fresh));
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, new RegExp(`wrote the model to ${fresh.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(first.out, /next: sembridge encode --model /);
  assert.equal(await outputKindOf(fresh), 'model');
  const second = await cli(...initArgs(fresh, '--method', 'random'));
  assert.equal(second.code, 0, second.err);
  assert.equal(JSON.parse(readFileSync(join(fresh, 'sembridge', 'report.json'), 'utf8')).parameters.method, 'random');
  assert.deepEqual(readdirSync(work).filter((n) => n.startsWith('.')), [], 'no temporary, backup or lock left');
});

test('init --force moves a foreign --out aside instead of deleting it', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const parent = join(work, 'force');
  const out = join(parent, 'm');
  userFolder(out);
  const beforeFiles = snapshot(out);
  const r = await cli(...initArgs(out, '--force'));
  assert.equal(r.code, 0, r.err);
  assert.equal(await outputKindOf(out), 'model');
  const aside = readdirSync(parent).filter((n) => n.startsWith('m.replaced-'));
  assert.equal(aside.length, 1);
  assert.deepEqual(snapshot(join(parent, aside[0])), beforeFiles);
  assert.match(r.err, /moved to .*m\.replaced-/);
});

test('the source model is never modified: not by a transfer, not as --out, not inside a --out (even with --force)', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const hashBefore = await hashFolder(SOURCE);
  const r = await cli(...initArgs(join(work, 'promise')));
  assert.equal(r.code, 0, r.err);
  assert.equal(await hashFolder(SOURCE), hashBefore, 'init leaves the source byte for byte as it was');

  // a copy of the source, then --out equal to it, a parent of it (beside an unrelated thesis.tex), inside it
  const project = join(work, 'project');
  const copy = join(project, 'source');
  cpSync(SOURCE, copy, { recursive: true });
  writeFileSync(join(project, 'thesis.tex'), '\\documentclass{article}');
  const beforeProject = snapshot(project);
  for (const [out, why] of [
    [copy, /is the input/],
    [project, /contains the input/],
    [join(copy, 'onnx'), /is inside the input/],
  ] as const) {
    for (const force of [[], ['--force']]) {
      const refused = await cli('init', '--source', copy, '--target-tokenizer', TARGET, '--bridge', BRIDGE, '--out', out, '--cache', cache, '--no-diagnostics', '--quiet', ...force);
      assertRefusal(refused, out, why);
    }
  }
  assert.deepEqual(snapshot(project), beforeProject, 'the copied source and thesis.tex are untouched');
  // the cache is an input too
  const intoCache = await cli(...initArgs(join(cache, 'm')));
  assertRefusal(intoCache, join(cache, 'm'), /is inside the input/);
});

test('index, export and compare refuse a foreign --out (keep.txt) before any work, and inputs always', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const docs = join(work, 'docs');
  userFolder(docs, { 'river.md': 'The river flows past the old city.', 'car.txt': 'A car drove to the house near the water.' });
  for (const name of ['index', 'export', 'compare']) {
    const out = join(work, `${name}-out`);
    userFolder(out, { 'keep.txt': 'keep me' });
    const beforeFiles = snapshot(out);
    const args =
      name === 'index'
        ? ['index', '--model', SOURCE, '--corpus', docs, '--out', out]
        : name === 'export'
          ? ['export', '--model', SOURCE, '--corpus', docs, '--format', 'jsonl', '--out', out]
          : ['compare', '--source', SOURCE, '--target-tokenizer', TARGET, '--bridge', BRIDGE, '--data', KO, '--methods', 'random', '--no-base', '--cache', cache, '--quiet', '--out', out];
    const kind = { index: 'index', export: 'export', compare: 'comparison' }[name];
    assertRefusal(await cli(...args), out, new RegExp(`exists and is not a SemBridge ${kind}`));
    assert.deepEqual(snapshot(out), beforeFiles, `${name}: keep.txt untouched`);
    // the output may not be the corpus / data folder, with or without --force
    const inputOut = name === 'compare' ? KO : docs;
    const beforeInput = snapshot(inputOut);
    const intoInput = args.slice(0, -1).concat(inputOut, '--force');
    assertRefusal(await cli(...intoInput), inputOut, /is the input/);
    assert.deepEqual(snapshot(inputOut), beforeInput);
  }
  // a successful compare writes one marked folder; a second run replaces it
  const cmp = join(work, 'cmp');
  const cmpArgs = ['compare', '--source', SOURCE, '--target-tokenizer', TARGET, '--bridge', BRIDGE, '--data', KO, '--methods', 'random', '--no-base', '--cache', cache, '--quiet', '--out', cmp, '--keep-models'];
  for (let i = 0; i < 2; i++) {
    const r = await cli(...cmpArgs);
    assert.equal(r.code, 0, r.err);
  }
  assert.equal(await outputKindOf(cmp), 'comparison');
  assert.ok(existsSync(join(cmp, 'compare.json')) && existsSync(join(cmp, 'models', 'random', OUTPUT_MARKER)));
});

test('index --update refuses a file outside the corpus folder', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const docs = join(work, 'upd-docs');
  userFolder(docs, { 'a.txt': 'The river flows past the old city.' });
  writeFileSync(join(work, 'outside.txt'), 'secret notes outside the corpus');
  const idx = join(work, 'upd-idx');
  assert.equal((await cli('index', '--model', SOURCE, '--corpus', docs, '--out', idx)).code, 0);
  const manifestBefore = readFileSync(join(idx, 'manifest.json'), 'utf8');
  const r = await cli('index', '--out', idx, '--update', join(docs, '..', 'outside.txt'));
  assertRefusal(r, 'outside.txt', /is outside the corpus folder .* only files in that folder/);
  assert.equal(readFileSync(join(idx, 'manifest.json'), 'utf8'), manifestBefore, 'the index is unchanged');
  assert.doesNotMatch(readFileSync(join(idx, 'docs.jsonl'), 'utf8'), /outside/);
});

test('two concurrent index --update runs: every run that reports success has its file in the index', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const docs = join(work, 'conc-docs');
  userFolder(docs, { 'a.txt': 'The river flows past the old city.' });
  const idx = join(work, 'conc-idx');
  assert.equal((await cli('index', '--model', SOURCE, '--corpus', docs, '--out', idx)).code, 0);
  const names = ['b.txt', 'c.txt', 'd.txt'];
  names.forEach((n, i) => writeFileSync(join(docs, n), ['Music and food at the school.', 'A car drove to the house.', 'Snow fell on the mountain.'][i]));
  const runs = await Promise.all(names.map((n) => cliProcess(['index', '--out', idx, '--update', join(docs, n)])));
  const indexed = readFileSync(join(idx, 'docs.jsonl'), 'utf8');
  let applied = 0;
  runs.forEach((r, i) => {
    if (r.code === 0) {
      applied++;
      assert.ok(indexed.includes(`"${names[i]}#0"`), `${names[i]}: reported "updated" and is in the index (${r.out.trim()})`);
    } else assert.match(r.err, /is being written by another sembridge run/, `${names[i]}: a refusal says why: ${r.err}`);
  });
  assert.ok(applied >= 1);
  assert.ok(indexed.includes('"a.txt#0"'));
  assert.ok(!existsSync(outputLockPath(idx)), 'no lock left');
  assert.deepEqual(readdirSync(work).filter((n) => n.startsWith('.conc-idx')), []);
});

test('a run holding the lock of an index or a model folder makes the next one refuse, naming it', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const docs = join(work, 'lock-docs');
  userFolder(docs, { 'a.txt': 'The river flows past the old city.' });
  const idx = join(work, 'lock-idx');
  assert.equal((await cli('index', '--model', SOURCE, '--corpus', docs, '--out', idx)).code, 0);
  const model = join(work, 'lock-model');
  // a live process holds both locks (as a running `index --update` / `init` would)
  const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `
    const { acquireLock } = require(${JSON.stringify(join(ROOT, 'src', 'core', 'fileLock.ts'))});
    Promise.all([acquireLock(${JSON.stringify(outputLockPath(idx))}), acquireLock(${JSON.stringify(outputLockPath(model))})])
      .then(() => { console.log('ready'); setInterval(() => {}, 1000); });
  `], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d) => String(d).includes('ready') && resolve());
      holder.on('exit', () => reject(new Error('lock holder exited')));
    });
    writeFileSync(join(docs, 'b.txt'), 'Music and food at the school.');
    const up = await cliProcess(['index', '--out', idx, '--update', join(docs, 'b.txt')], { SEMBRIDGE_LOCK_WAIT_S: '0' });
    assertRefusal(up, idx, new RegExp(`is being written by another sembridge run \\(pid ${holder.pid} on `));
    assert.doesNotMatch(readFileSync(join(idx, 'docs.jsonl'), 'utf8'), /b\.txt/);
    const init = await cli(...initArgs(model));
    assertRefusal(init, model, new RegExp(`is being written by another sembridge run \\(pid ${holder.pid} on `));
    assert.ok(!existsSync(model));
  } finally {
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r).pid === undefined && r(null));
  }
  // the holder is gone: its stale lock is taken over, with a message
  const after = await cli(...initArgs(model));
  assert.equal(after.code, 0, after.err);
  assert.match(after.err, /took over the lock of a run that is gone/);
});

test('two concurrent init into one --out: one complete model, the other refused or run after it', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const out = join(work, 'conc-init');
  const runs = await Promise.all(['random', 'mean'].map((m) => cliProcess(initArgs(out, '--method', m))));
  const ok = runs.filter((r) => r.code === 0);
  assert.ok(ok.length >= 1, runs.map((r) => r.err).join('\n'));
  for (const r of runs) if (r.code !== 0) assertRefusal(r, out, /is being written by another sembridge run/);
  const method = JSON.parse(readFileSync(join(out, 'sembridge', 'report.json'), 'utf8')).parameters.method;
  assert.ok(['random', 'mean'].includes(method));
  assert.equal(await outputKindOf(out), 'model');
  assert.deepEqual(readdirSync(work).filter((n) => n.startsWith('.conc-init')), [], 'no temporary or lock left');
});

test('demo writes one well-known folder, replaced by the next run, and says what to try next', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const env = { TMPDIR: process.env.TMPDIR, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
  const tmp = join(work, 'demo-tmp');
  mkdirSync(tmp);
  process.env.TMPDIR = tmp;
  process.env.XDG_CACHE_HOME = join(work, 'xdg');
  try {
    for (let i = 0; i < 2; i++) {
      const r = await cli('demo');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /next:\n {2}sembridge encode --model /);
      // the notice comes before anything else and again after the numbers, which are each marked
      assert.ok(r.out.startsWith(`NOTE: ${DEMO_MODELS_NOTICE}`), r.out.slice(0, 200));
      assert.equal(r.out.split(DEMO_MODELS_NOTICE).length - 1, 2);
      assert.match(r.out, /transferred model \(Korean vocab\.\): nDCG@10 [\d.]+.*\[tiny demo models: not a quality figure\]/);
    }
    const demo = join(work, 'xdg', 'sembridge', 'demo');
    assert.equal(await outputKindOf(demo), 'demo');
    assert.equal(await outputKindOf(join(demo, 'model-ko')), 'model');
    assert.equal(await outputKindOf(join(demo, 'index-ko')), 'index');
    assert.deepEqual(readdirSync(join(work, 'xdg', 'sembridge')), ['demo'], 'nothing else beside it');
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('sembridge-demo')), [], 'no temporary folder per run');
    // the index it wrote can be searched as the hint says
    const s = await cli('search', '--index', join(demo, 'index-ko'), '강');
    assert.equal(s.code, 0, s.err);
  } finally {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('eval --run never overwrites an input (the qrels) and replaces only its own run file', async (t) => {
  if (!ready) return t.skip('fixture models missing');
  const data = join(work, 'eval-data');
  cpSync(KO, data, { recursive: true });
  const qrels = join(data, 'qrels', 'test.tsv');
  const before = readFileSync(qrels);
  for (const force of [[], ['--force']])
    assertRefusal(await cli('eval', '--model', SOURCE, '--data', data, '--run', qrels, ...force), qrels, /is the input/);
  assert.deepEqual(readFileSync(qrels), before);
  const notes = join(work, 'notes.txt');
  writeFileSync(notes, 'my notes');
  assertRefusal(await cli('eval', '--model', SOURCE, '--data', data, '--run', notes), notes, /exists and is not a TREC run with tag 'sembridge'/);
  assert.equal(readFileSync(notes, 'utf8'), 'my notes');
  const run = join(work, 'run.txt');
  for (let i = 0; i < 2; i++) assert.equal((await cli('eval', '--model', SOURCE, '--data', data, '--run', run)).code, 0);
  const keep = join(work, 'saved-index');
  userFolder(keep, { 'keep.txt': 'keep me' });
  assertRefusal(await cli('eval', '--model', SOURCE, '--data', data, '--save-index', keep), keep, /--save-index .*exists and is not a SemBridge index/);
  assert.deepEqual(readdirSync(keep), ['keep.txt']);
});
