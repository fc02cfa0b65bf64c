import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderAtomically } from '../../src/core/atomicOutput';

test('a failed write leaves neither the temporary folder nor a partial output', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-atomic-'));
  const out = join(root, 'model');
  await assert.rejects(
    writeFolderAtomically(out, async (tmp) => {
      writeFileSync(join(tmp, 'half.bin'), 'x');
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.deepEqual(readdirSync(root), []);
});

test('a successful write replaces the previous output whole', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-atomic-'));
  const out = join(root, 'model');
  mkdirSync(out);
  writeFileSync(join(out, 'old.txt'), 'old');
  await writeFolderAtomically(out, async (tmp) => writeFileSync(join(tmp, 'new.txt'), 'new'));
  assert.deepEqual(readdirSync(out), ['new.txt']);
  assert.equal(readFileSync(join(out, 'new.txt'), 'utf8'), 'new');
  assert.deepEqual(readdirSync(root), ['model']);
});
