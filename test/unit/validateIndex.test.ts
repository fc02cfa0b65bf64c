import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SemBridgeError } from '../../src/core/errors';
import { loadIndex, readManifest, saveIndex } from '../../src/core/index/indexStore';
import { SparseIndex } from '../../src/core/index/sparseIndex';

const V = 6;

async function built(): Promise<string> {
  const index = new SparseIndex({ modelHash: 'abc', vocabSize: V });
  index.add({ id: 'd1', text: 'one' }, { ids: Uint32Array.from([0, 2]), weights: Float32Array.from([1, 0.5]) });
  index.add({ id: 'd2', text: 'two' }, { ids: Uint32Array.from([2, 5]), weights: Float32Array.from([2, 0.25]) });
  const dir = join(mkdtempSync(join(tmpdir(), 'sb-vidx-')), 'index');
  await saveIndex(index, dir);
  return dir;
}

const hex = (b: Buffer) => (crc32(b) >>> 0).toString(16).padStart(8, '0');

/** Edits postings.bin as u32/f32 words and recomputes its checksum, as a careless tool would. */
function editPostings(dir: string, edit: (u32: Uint32Array, f32: Float32Array) => void): void {
  const path = join(dir, 'postings.bin');
  const b = Buffer.from(readFileSync(path));
  edit(new Uint32Array(b.buffer, b.byteOffset, b.length / 4), new Float32Array(b.buffer, b.byteOffset, b.length / 4));
  writeFileSync(path, b);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  m.checksums.postings = hex(b);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
}

const refused = async (dir: string, pattern: RegExp) => {
  await assert.rejects(loadIndex(dir), (e: unknown) => e instanceof SemBridgeError && pattern.test(e.message));
};

test('a manifest that is null or lacks checksums / modelHash is refused by readManifest and loadIndex', async () => {
  for (const [edit, pattern] of [
    [() => null, /not a JSON object/],
    [(m: Record<string, unknown>) => ({ ...m, checksums: undefined }), /"checksums"/],
    [(m: Record<string, unknown>) => ({ ...m, modelHash: undefined }), /"modelHash"/],
    [(m: Record<string, unknown>) => ({ ...m, vocabSize: -1 }), /"vocabSize"/],
    [(m: Record<string, unknown>) => ({ ...m, build: null }), /"build"/],
  ] as const) {
    const dir = await built();
    const path = join(dir, 'manifest.json');
    writeFileSync(path, JSON.stringify(edit(JSON.parse(readFileSync(path, 'utf8')))));
    await assert.rejects(readManifest(dir), (e: unknown) => e instanceof SemBridgeError && pattern.test(e.message) && e.message.includes('manifest.json'));
    await refused(dir, pattern);
  }
});

// layout: header 8 words, offsets V+1, maxW V, slots 4, weights 4
const OFF = 8;
const MAX = OFF + V + 1;
const SLOT = MAX + V;
const W = SLOT + 4;

test('postings with a recomputed checksum are still checked: NaN/Inf weights, slots, offsets, maxima', async () => {
  const cases: [(u: Uint32Array, f: Float32Array) => void, RegExp][] = [
    [(_, f) => void (f[W] = NaN), /weight NaN/],
    [(_, f) => void (f[W + 1] = Infinity), /weight Infinity|maximum/],
    [(_, f) => void (f[W] = -1), /weight -1/],
    [(u) => void (u[SLOT] = 99), /slot 99 is outside/],
    [(u) => void (u[OFF + 3] = 0), /offsets decrease/],
    [(_, f) => void (f[MAX + 2] = 0.1), /above the term's recorded maximum/],
    [(_, f) => void (f[MAX + 1] = NaN), /maximum weight is NaN/],
  ];
  for (const [edit, pattern] of cases) {
    const dir = await built();
    await loadIndex(dir); // sound before the edit
    editPostings(dir, edit);
    await refused(dir, pattern);
  }
});

test('docs.jsonl lines that are not documents are refused with the line number', async () => {
  const dir = await built();
  const path = join(dir, 'docs.jsonl');
  const text = Buffer.from('{"id":"d1","text":"one","nnz":2}\n{"id":"","text":"x","nnz":1}\n');
  writeFileSync(path, text);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  m.checksums.docs = hex(text);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  await refused(dir, /line 2 is not a document/);
  const t2 = Buffer.from('{"id":"d1","text":"one","nnz":2}\n{oops\n');
  writeFileSync(path, t2);
  m.checksums.docs = hex(t2);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  await refused(dir, /line 2 is not valid JSON/);
});
