// The output-folder rules (src/core/atomicOutput.ts, outputGuard.ts, fileLock.ts): what an output
// may replace, what it never touches, locks, and the temporaries of killed runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanStaleTemps, outputLockPath, TEMP_OWNER_FILE, writeFolderAtomically } from '../../src/core/atomicOutput';
import { acquireLock } from '../../src/core/fileLock';
import { checkOutputFile, OUTPUT_MARKER, outputKindOf } from '../../src/core/outputGuard';
import { SemBridgeError } from '../../src/core/errors';

const ROOT = join(__dirname, '..', '..');
const root = () => mkdtempSync(join(tmpdir(), 'sb-atomic-'));
const writeNew = async (tmp: string) => writeFileSync(join(tmp, 'new.txt'), 'new');

/** Every file under `dir` with its content, for "nothing was touched" checks. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) out[r] = `-> ${require('node:fs').readlinkSync(join(d, e.name))}`;
      else if (e.isDirectory()) walk(join(d, e.name), r);
      else out[r] = readFileSync(join(d, e.name), 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

function userFolder(dir: string): void {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'precious.txt'), 'years of work');
  writeFileSync(join(dir, 'sub', 'notes.md'), '# notes');
}

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a failed write leaves neither the temporary folder, the lock, nor a partial output', async () => {
  const r = root();
  await assert.rejects(
    writeFolderAtomically(join(r, 'model'), async (tmp) => {
      writeFileSync(join(tmp, 'half.bin'), 'x');
      throw new Error('boom');
    }, { kind: 'model' }),
    /boom/,
  );
  assert.deepEqual(readdirSync(r), []);
});

test('a failed write into new parent folders removes the folders it created', async () => {
  const r = root();
  await assert.rejects(writeFolderAtomically(join(r, 'a', 'b', 'model'), async () => { throw new Error('boom'); }, { kind: 'model' }), /boom/);
  assert.deepEqual(readdirSync(r), []);
});

test('an output of the same kind is replaced whole, and the new one carries the marker', async () => {
  const r = root();
  const out = join(r, 'model');
  await writeFolderAtomically(out, async (tmp) => writeFileSync(join(tmp, 'old.txt'), 'old'), { kind: 'model' });
  await writeFolderAtomically(out, writeNew, { kind: 'model' });
  assert.deepEqual(readdirSync(out).sort(), ['new.txt', 'sembridge']);
  const marker = JSON.parse(readFileSync(join(out, OUTPUT_MARKER), 'utf8'));
  assert.equal(marker.kind, 'model');
  assert.equal(marker.tool, 'sembridge');
  assert.equal(marker.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  assert.ok(!Number.isNaN(Date.parse(marker.createdAt)));
  assert.deepEqual(readdirSync(r), ['model'], 'no temporary, backup or lock left beside');
});

test('an existing folder that is not ours (precious.txt, sub/notes.md) is refused and left untouched', async () => {
  const r = root();
  const out = join(r, 'model');
  userFolder(out);
  const before = snapshot(out);
  await assert.rejects(writeFolderAtomically(out, writeNew, { kind: 'model' }), (err: Error) => {
    assert.ok(err instanceof SemBridgeError);
    assert.match(err.message, /model: exists and is not a SemBridge model folder .*--force/);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
  assert.deepEqual(snapshot(out), before);
  assert.deepEqual(readdirSync(r), ['model']);
});

test('an output of another kind is refused', async () => {
  const r = root();
  const out = join(r, 'idx');
  await writeFolderAtomically(out, writeNew, { kind: 'index' });
  await assert.rejects(writeFolderAtomically(out, writeNew, { kind: 'model' }), /holds a SemBridge index, not a SemBridge model folder/);
  assert.equal(await outputKindOf(out), 'index');
});

test('--force moves a foreign folder aside (never deletes it) and puts the new output in place', async () => {
  const r = root();
  const out = join(r, 'model');
  userFolder(out);
  const before = snapshot(out);
  const notices: string[] = [];
  await writeFolderAtomically(out, writeNew, { kind: 'model', force: true, onNotice: (m) => notices.push(m) });
  assert.equal(readFileSync(join(out, 'new.txt'), 'utf8'), 'new');
  const aside = readdirSync(r).filter((n) => n.startsWith('model.replaced-'));
  assert.equal(aside.length, 1);
  assert.deepEqual(snapshot(join(r, aside[0])), before);
  assert.ok(notices.some((n) => n.includes(aside[0])), 'says where the old contents went');
});

test('folders of older versions (no marker) are recognised by their own files', async () => {
  const r = root();
  const model = join(r, 'm');
  mkdirSync(join(model, 'sembridge'), { recursive: true });
  writeFileSync(join(model, 'sembridge', 'report.json'), JSON.stringify({ tool: 'sembridge', codeVersion: 'sembridge-init-1' }));
  const index = join(r, 'i');
  mkdirSync(index);
  writeFileSync(join(index, 'manifest.json'), JSON.stringify({ format: 'sembridge-sparse-index', version: 1 }));
  const other = join(r, 'o');
  mkdirSync(other);
  writeFileSync(join(other, 'manifest.json'), JSON.stringify({ format: 'something-else' }));
  assert.equal(await outputKindOf(model), 'model');
  assert.equal(await outputKindOf(index), 'index');
  assert.equal(await outputKindOf(other), undefined);
  await writeFolderAtomically(model, writeNew, { kind: 'model' });
  await writeFolderAtomically(index, writeNew, { kind: 'index' });
  await assert.rejects(writeFolderAtomically(other, writeNew, { kind: 'index' }), /not a SemBridge index/);
});

test('an empty existing folder is simply replaced', async () => {
  const r = root();
  mkdirSync(join(r, 'out'));
  await writeFolderAtomically(join(r, 'out'), writeNew, { kind: 'export' });
  assert.equal(await outputKindOf(join(r, 'out')), 'export');
});

test('an output equal to, inside, or a parent of an input is refused even with force', async () => {
  const r = root();
  const source = join(r, 'work', 'source');
  mkdirSync(source, { recursive: true });
  writeFileSync(join(source, 'model.safetensors'), 'weights');
  writeFileSync(join(r, 'work', 'thesis.tex'), '\\documentclass{article}');
  // a marker in the source makes no difference: inputs are never written
  mkdirSync(join(source, 'sembridge'));
  writeFileSync(join(source, OUTPUT_MARKER), JSON.stringify({ tool: 'sembridge', kind: 'model' }));
  symlinkSync(source, join(r, 'link-to-source'));
  const before = snapshot(r);
  for (const [out, why] of [
    [source, /is the input/],
    [join(r, 'work'), /contains the input/],
    [join(source, 'sub'), /is inside the input/],
    [join(r, 'link-to-source'), /is the input/],
  ] as const) {
    for (const force of [false, true]) {
      await assert.rejects(writeFolderAtomically(out, writeNew, { kind: 'model', force, inputs: [source] }), why, `${out} force=${force}`);
    }
  }
  assert.deepEqual(snapshot(r), before);
});

test('an output file is never an input, and an existing file is replaced only when ours or with force', async () => {
  const r = root();
  const input = join(r, 'in.safetensors');
  writeFileSync(input, 'x');
  const other = join(r, 'notes.safetensors');
  writeFileSync(other, 'mine');
  const opts = { option: '--output', what: 'ours', isOurs: async () => false };
  await assert.rejects(checkOutputFile(input, { ...opts, inputs: [input], force: true }), /is the input/);
  await assert.rejects(checkOutputFile(other, opts), /--output .*notes.safetensors: exists and is not ours/);
  await checkOutputFile(other, { ...opts, force: true });
  await checkOutputFile(other, { ...opts, isOurs: async () => true });
  await assert.rejects(checkOutputFile(r, opts), /is a folder/);
});

test('a stale temporary of a killed run (owner gone) is removed; one without owner is only reported', async () => {
  const r = root();
  const out = join(r, 'model');
  const stale = join(r, '.model.tmp-AAAAAA');
  mkdirSync(stale);
  writeFileSync(join(stale, 'big.bin'), Buffer.alloc(4096));
  writeFileSync(join(stale, TEMP_OWNER_FILE), JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: new Date().toISOString() }));
  const unknown = join(r, '.model.tmp-BBBBBB');
  mkdirSync(unknown);
  writeFileSync(join(unknown, 'half.bin'), 'x');
  const notices: string[] = [];
  await writeFolderAtomically(out, writeNew, { kind: 'model', onNotice: (m) => notices.push(m) });
  assert.ok(!existsSync(stale), 'the dead run’s temporary folder is removed');
  assert.ok(existsSync(unknown), 'a temporary folder without owner is kept');
  assert.ok(notices.some((n) => n.includes('.model.tmp-AAAAAA') && /removed/.test(n)));
  assert.ok(notices.some((n) => n.includes('.model.tmp-BBBBBB') && /remove it yourself/.test(n)));
});

test('a backup left by a kill between the two renames is put back when the output is missing', async () => {
  const r = root();
  const out = join(r, 'model');
  await writeFolderAtomically(out, writeNew, { kind: 'model' });
  const backup = join(r, '.model.tmp-CCCCCC.old');
  require('node:fs').renameSync(out, backup);
  const notices: string[] = [];
  await cleanStaleTemps(out, (m) => notices.push(m));
  assert.equal(readFileSync(join(out, 'new.txt'), 'utf8'), 'new');
  assert.ok(!existsSync(backup));
  assert.match(notices.join('\n'), /restored/);
});

/** Runs a TypeScript snippet in a child process; resolves when it prints `ready`. */
function child(code: string): { proc: ReturnType<typeof spawn>; ready: Promise<void>; done: Promise<number | null> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    proc.on('exit', (c) => reject(new Error(`child exited (${c}) before it was ready: ${out}`)));
  });
  ready.catch(() => undefined); // a child that exits on purpose is never ready
  const done = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  return { proc, ready, done };
}

const atomicModule = JSON.stringify(join(ROOT, 'src', 'core', 'atomicOutput.ts'));

test('SIGKILL during a write: the next run removes the temporary folder and takes over the lock', async () => {
  const r = root();
  const out = join(r, 'model');
  const c = child(`
    const { writeFolderAtomically } = require(${atomicModule});
    writeFolderAtomically(${JSON.stringify(out)}, async (tmp) => {
      require('node:fs').writeFileSync(tmp + '/big.bin', Buffer.alloc(1 << 20));
      console.log('ready');
      await new Promise(() => setInterval(() => {}, 1000));
    }, { kind: 'model' });
  `);
  await c.ready;
  c.proc.kill('SIGKILL');
  await c.done;
  assert.ok(readdirSync(r).some((n) => n.startsWith('.model.tmp-')), 'the kill leaves a temporary folder');
  assert.ok(existsSync(outputLockPath(out)), 'and its lock');
  const notices: string[] = [];
  await writeFolderAtomically(out, writeNew, { kind: 'model', onNotice: (m) => notices.push(m) });
  assert.deepEqual(readdirSync(r), ['model']);
  assert.match(notices.join('\n'), /took over the lock of a run that is gone/);
  assert.match(notices.join('\n'), /removed .*\.model\.tmp-.*killed run/);
});

test('exiting in the middle of a write (a second Ctrl-C) leaves no temporary folder and no lock', async () => {
  const r = root();
  const out = join(r, 'model');
  const c = child(`
    const { writeFolderAtomically } = require(${atomicModule});
    writeFolderAtomically(${JSON.stringify(out)}, async (tmp) => {
      require('node:fs').writeFileSync(tmp + '/big.bin', Buffer.alloc(1 << 20));
      process.exit(130);
    }, { kind: 'model' });
  `);
  assert.equal(await c.done, 130);
  assert.deepEqual(readdirSync(r), []);
});

test('an output locked by a live run is refused, naming the run; nothing is written', async () => {
  const r = root();
  const out = join(r, 'model');
  const lockModule = JSON.stringify(join(ROOT, 'src', 'core', 'fileLock.ts'));
  const c = child(`
    const { acquireLock } = require(${lockModule});
    acquireLock(${JSON.stringify(outputLockPath(out))}).then(() => { console.log('ready'); setInterval(() => {}, 1000); });
  `);
  try {
    await c.ready;
    await assert.rejects(writeFolderAtomically(out, writeNew, { kind: 'model' }), new RegExp(`model: is being written by another sembridge run \\(pid ${c.proc.pid} on `));
    assert.ok(!existsSync(out));
    assert.deepEqual(readdirSync(r), ['.model.lock']);
  } finally {
    c.proc.kill('SIGKILL');
    await c.done;
  }
});

test('a lock is re-entrant within one process and released by its last holder', async () => {
  const r = root();
  const path = join(r, '.x.lock');
  const a = await acquireLock(path);
  const b = await acquireLock(path);
  await b.release();
  assert.ok(existsSync(path));
  await a.release();
  assert.ok(!existsSync(path));
  rmSync(r, { recursive: true, force: true });
});

test('runs racing for one lock (left stale by a dead run) hold it one at a time', async () => {
  const r = root();
  const lock = join(r, '.shared.lock');
  writeFileSync(lock, JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: new Date().toISOString() }));
  const log = join(r, 'log.txt');
  const lockModule = JSON.stringify(join(ROOT, 'src', 'core', 'fileLock.ts'));
  const runs = Array.from({ length: 4 }, () =>
    child(`
      const { acquireLock } = require(${lockModule});
      const fs = require('node:fs');
      (async () => {
        const l = await acquireLock(${JSON.stringify(lock)}, { waitMs: 60000, onNotice: () => {} });
        fs.appendFileSync(${JSON.stringify(log)}, 'start ' + process.pid + '\\n');
        await new Promise((res) => setTimeout(res, 100));
        fs.appendFileSync(${JSON.stringify(log)}, 'end ' + process.pid + '\\n');
        await l.release();
      })();
    `),
  );
  assert.deepEqual(await Promise.all(runs.map((c) => c.done)), [0, 0, 0, 0]);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.equal(lines.length, 8);
  for (let i = 0; i < lines.length; i += 2) {
    assert.match(lines[i], /^start /);
    assert.equal(lines[i + 1], lines[i].replace('start', 'end'), 'no other run started while one held the lock');
  }
  assert.ok(!existsSync(lock));
});
