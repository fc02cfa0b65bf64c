import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closestOption } from '../../src/cli/args';
import { stderrProgress } from '../../src/cli/retrievalOptions';
import { runCli, STACK_LINE } from '../helpers/captureCli';

test('an unknown option names itself, the closest valid one and the usage line, exit 2', async () => {
  const a = await runCli(['init', '--alpah', '4']);
  assert.equal(a.code, 2);
  assert.match(a.err, /unknown option '--alpah' \(did you mean --alpha\?\)/);
  assert.match(a.err, /usage: sembridge init/);
  assert.doesNotMatch(a.err, STACK_LINE);
  assert.doesNotMatch(a.err, /ERR_PARSE_ARGS/);
  const b = await runCli(['encode', '--modle', 'x', 'text']);
  assert.equal(b.code, 2);
  assert.match(b.err, /did you mean --model\?/);
  assert.equal(b.err.trim().split('\n').length, 2);
});

test('every command turns parse errors into usage errors', async () => {
  for (const name of ['init', 'compare', 'reconstruct', 'encode', 'index', 'search', 'eval', 'metrics', 'export', 'generate-model', 'demo']) {
    const r = await runCli([name, '--definitely-not-an-option']);
    assert.equal(r.code, 2, `${name}: ${r.err}`);
    assert.match(r.err, new RegExp(`usage: sembridge ${name}`), name);
    assert.doesNotMatch(r.err, STACK_LINE, name);
  }
});

test('a missing option value and a value given to a switch are usage errors', async () => {
  const a = await runCli(['init', '--source']);
  assert.equal(a.code, 2);
  assert.match(a.err, /option '--source' needs a value/);
  const b = await runCli(['encode', '--json=yes', '--model', 'm', 't']);
  assert.equal(b.code, 2);
  assert.match(b.err, /option '--json' takes no value/);
  const c = await runCli(['metrics', 'stray']);
  assert.equal(c.code, 2);
  assert.match(c.err, /unexpected argument 'stray'/);
});

test('closestOption: transpositions, typos and prefixes; nothing for unrelated words', () => {
  const names = ['alpha', 'method', 'model', 'methods', 'target-tokenizer'];
  assert.equal(closestOption('--alpah', names), 'alpha');
  assert.equal(closestOption('--modle', names), 'model');
  assert.equal(closestOption('--target', names), 'target-tokenizer');
  assert.equal(closestOption('--zzzzzzzz', names), undefined);
});

test('a missing file is "file not found: PATH", never a raw ENOENT stack', async () => {
  const r = await runCli(['generate-model', '--vocab', '/nope/vocab.txt', '--out', join(tmpdir(), 'sb-never-written')]);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /file not found: \/nope/);
  assert.doesNotMatch(r.err, STACK_LINE);
});

test('compare --methods names --methods and lists the valid methods', async () => {
  const r = await runCli(['compare', '--source', 's', '--target-tokenizer', 't', '--bridge', 'b', '--data', 'd', '--methods', 'sembridge,foo']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--methods: unknown method 'foo' \(one of sembridge, /);
});

test('a config.json given as the tokenizer names the option and what was expected', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cfg-'));
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ model_type: 'bert', vocab_size: 10 }));
  const r = await runCli(['init', '--source', dir, '--target-tokenizer', cfg, '--bridge', dir, '--out', join(dir, 'o')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /--target-tokenizer: .*config\.json is a model configuration .*expected a tokenizer folder, its tokenizer\.json or its vocab\.txt/);
});

test('progress off a terminal: a line per stage, then every interval, with percent, rate and time left', () => {
  const lines: string[] = [];
  const sink = stderrProgress({ tty: false, intervalMs: 0, write: (s) => void lines.push(s) });
  sink({ stage: 'encode', done: 0, total: 100 });
  sink({ stage: 'encode', done: 50, total: 100, rate: 10, etaSeconds: 5 });
  sink({ stage: 'encode', done: 100, total: 100, rate: 10 });
  assert.equal(lines.length, 3);
  assert.match(lines[1], /^encode: 50\/100 \(50%\) 10\.0\/s 5 s left\n$/);
  const throttled: string[] = [];
  const slow = stderrProgress({ tty: false, intervalMs: 60_000, write: (s) => void throttled.push(s) });
  for (let i = 0; i <= 10; i++) slow({ stage: 'encode', done: i, total: 10 });
  assert.equal(throttled.length, 2, 'the first line and the last');
});

test('reconstruct with a missing input says "file not found"', async () => {
  const r = await runCli(['reconstruct', '--input', '/nope/in.safetensors', '--alpha', '4', '--output', join(tmpdir(), 'sb-never.safetensors')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /\/nope\/in\.safetensors: file not found/);
});
