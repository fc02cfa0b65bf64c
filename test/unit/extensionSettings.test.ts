// Settings validation and path checks (trust rules, output containment).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, readSettings } from '../../src/extension/settings';
import { checkInputPath, checkOutputFolder, isInside, pathUnder, resolveSettingPath, restrictedModeProblem, safeName } from '../../src/extension/paths';

const getter = (values: Record<string, unknown>) => (k: string) => values[k];

test('readSettings returns defaults for an empty configuration', () => {
  const r = readSettings(getter({}));
  assert.deepEqual(r.settings, DEFAULT_SETTINGS);
  assert.deepEqual(r.problems, []);
});

test('readSettings takes valid values', () => {
  const r = readSettings(getter({ alpha: 2.5, method: 'focus', corpusGlobs: ['docs/**/*.md'], maxSequenceLength: 128, workerThreads: 4, 'hover.enabled': false, 'hover.languages': ['markdown'], sourceModel: ' ~/m ' }));
  assert.deepEqual(r.problems, []);
  assert.equal(r.settings.alpha, 2.5);
  assert.equal(r.settings.method, 'focus');
  assert.deepEqual(r.settings.corpusGlobs, ['docs/**/*.md']);
  assert.equal(r.settings.hoverEnabled, false);
  assert.equal(r.settings.sourceModel, '~/m');
});

test('readSettings explains every invalid value and falls back to its default', () => {
  const r = readSettings(getter({ alpha: 1, method: 'magic', corpusGlobs: [], maxSequenceLength: 7.5, workerThreads: 99, 'hover.enabled': 'yes', 'hover.languages': [''], sourceModel: 42 }));
  const byKey = Object.fromEntries(r.problems.map((p) => [p.key, p.message]));
  assert.match(byKey['sembridge.alpha'], /between 1\.01 and 16 .*using 4/);
  assert.match(byKey['sembridge.method'], /must be one of sembridge, focus/);
  assert.match(byKey['sembridge.corpusGlobs'], /at least one glob/);
  assert.match(byKey['sembridge.maxSequenceLength'], /whole number/);
  assert.match(byKey['sembridge.workerThreads'], /between 1 and 16/);
  assert.match(byKey['sembridge.hover.enabled'], /true or false/);
  assert.match(byKey['sembridge.hover.languages'], /non-empty strings/);
  assert.match(byKey['sembridge.sourceModel'], /must be a path/);
  assert.equal(r.settings.alpha, 4);
  assert.equal(r.settings.method, 'sembridge');
  assert.equal(r.settings.workerThreads, 1);
});

test('remote model addresses are refused unless allowRemoteModels is on', () => {
  const off = readSettings(getter({ bridgeModel: 'https://huggingface.co/x/y' }));
  assert.equal(off.settings.bridgeModel, '');
  assert.match(off.problems[0].message, /remote address; .*allowRemoteModels/);
  const on = readSettings(getter({ bridgeModel: 'https://huggingface.co/x/y', allowRemoteModels: true }));
  assert.equal(on.settings.bridgeModel, 'https://huggingface.co/x/y');
  assert.deepEqual(on.problems, []);
});

test('resolveSettingPath expands ~, ${workspaceFolder} and relative paths', () => {
  const ctx = { workspaceFolders: ['/ws'], trusted: true, home: '/home/u' };
  assert.equal(resolveSettingPath('~/models/a', ctx, 'k'), '/home/u/models/a');
  assert.equal(resolveSettingPath('${workspaceFolder}/m', ctx, 'k'), '/ws/m');
  assert.equal(resolveSettingPath('m/../n', ctx, 'k'), '/ws/n');
  assert.throws(() => resolveSettingPath('rel', { workspaceFolders: [], trusted: true }, 'sembridge.sourceModel'), /sembridge\.sourceModel: is relative .* no workspace folder/);
  assert.throws(() => resolveSettingPath('  ', ctx, 'k'), /k: is empty/);
});

test('in Restricted Mode nothing inside the workspace is loaded, and the message says why', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-trust-'));
  try {
    const ws = join(dir, 'ws');
    mkdirSync(join(ws, 'model'), { recursive: true });
    mkdirSync(join(dir, 'outside'));
    const untrusted = { workspaceFolders: [ws], trusted: false };
    assert.match(restrictedModeProblem(join(ws, 'model'), untrusted)!, /not trusted \(Restricted Mode\)/);
    assert.throws(() => checkInputPath('model', 'folder', untrusted, 'sembridge.activeModel'), /sembridge\.activeModel: .*Restricted Mode/);
    assert.equal(checkInputPath(join(dir, 'outside'), 'folder', untrusted, 'k'), join(dir, 'outside'));
    // a symlink from outside into the workspace is still the workspace
    symlinkSync(join(ws, 'model'), join(dir, 'link'));
    assert.throws(() => checkInputPath(join(dir, 'link'), 'folder', untrusted, 'k'), /Restricted Mode/);
    assert.equal(checkInputPath('model', 'folder', { workspaceFolders: [ws], trusted: true }, 'k'), join(ws, 'model'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checkInputPath names what is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-paths-'));
  try {
    writeFileSync(join(dir, 'f'), 'x');
    const ctx = { workspaceFolders: [], trusted: true };
    assert.throws(() => checkInputPath(join(dir, 'missing'), 'folder', ctx, 'sembridge.bridgeModel'), /sembridge\.bridgeModel: .*missing does not exist/);
    assert.throws(() => checkInputPath(join(dir, 'f'), 'folder', ctx, 'k'), /is not a folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an output folder may not overlap an input, and nothing is written outside it', () => {
  const ctx = { workspaceFolders: ['/ws'], trusted: true };
  assert.throws(() => checkOutputFolder('/models/src/out', ['/models/src'], ctx), /overlaps the input \/models\/src/);
  assert.throws(() => checkOutputFolder('/models', ['/models/src'], ctx), /overlaps/);
  assert.equal(checkOutputFolder('/models/out', ['/models/src', '/models/tok'], ctx), '/models/out');
  assert.throws(() => checkOutputFolder('/ws/out', [], { workspaceFolders: ['/ws'], trusted: false }), /untrusted workspace/);
  assert.equal(pathUnder('/out', 'sembridge', 'mapping.jsonl'), '/out/sembridge/mapping.jsonl');
  assert.throws(() => pathUnder('/out', '..', 'etc'), /would leave \/out/);
  assert.throws(() => pathUnder('/out', '/etc/passwd'), /would leave/);
  assert.ok(isInside('/a/b', '/a/b/c'));
  assert.ok(!isInside('/a/b', '/a/bc'));
  assert.equal(safeName('../my corpus/..'), '_my_corpus_..');
  assert.equal(safeName('..'), 'unnamed');
});

test('sembridge.bridgePooling: the contributed enum, validation, empty by default', async () => {
  const { readFileSync } = await import('node:fs');
  const { BRIDGE_POOLING_MODES } = await import('../../src/core/bridge/bridgePooling');
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
  assert.deepEqual(pkg.contributes.configuration.properties['sembridge.bridgePooling'].enum, ['', ...BRIDGE_POOLING_MODES]);
  assert.equal(DEFAULT_SETTINGS.bridgePooling, '');
  assert.equal(readSettings(getter({ bridgePooling: 'cls' })).settings.bridgePooling, 'cls');
  const bad = readSettings(getter({ bridgePooling: 'max' }));
  assert.equal(bad.settings.bridgePooling, '');
  assert.match(bad.problems[0].message, /must be one of cls, mean, lasttoken/);
});

test('sembridge.alpha accepts "auto" (adaptive α) and still refuses other strings; the wizard parses the same', async () => {
  assert.equal(readSettings(getter({ alpha: 'auto' })).settings.alpha, 'auto');
  const bad = readSettings(getter({ alpha: 'fast' }));
  assert.equal(bad.settings.alpha, 4);
  assert.match(bad.problems.map((p) => p.message).join(' '), /must be a number or "auto"/);
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
  assert.deepEqual(pkg.contributes.configuration.properties['sembridge.alpha'].anyOf[1].enum, ['auto']);
});

test('the transfer wizard reads α as a number in range or "auto"', async () => {
  const { installFakeVscode, FakeVscodeState } = await import('../helpers/fakeVscode');
  installFakeVscode(new FakeVscodeState());
  const { parseAlpha } = await import('../../src/extension/commands/transferWizard');
  assert.equal(parseAlpha(' auto '), 'auto');
  assert.equal(parseAlpha('3'), 3);
  assert.match((parseAlpha('x') as { error: string }).error, /a number or "auto"/);
  assert.match((parseAlpha('99') as { error: string }).error, /between 1\.01 and 16/);
});
