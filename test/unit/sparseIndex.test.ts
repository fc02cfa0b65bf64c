import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SparseIndex } from '../../src/core/index/sparseIndex';
import { loadIndex, saveIndex } from '../../src/core/index/indexStore';
import type { SparseVector } from '../../src/core/types';
import { bruteForceTopK, mulberry32, syntheticVectors } from '../helpers/syntheticSparse';

const identity = { modelHash: 'a'.repeat(64), vocabSize: 2000 };

function randomCorpus(n: number, seed: number) {
  return syntheticVectors(n, { vocabSize: identity.vocabSize, nnz: 40, seed }).map((vec, i) => ({ id: `doc${String(i).padStart(5, '0')}`, vec }));
}

function assertSameHits(index: SparseIndex, got: { slot: number; score: number }[], want: { id: string; score: number }[], what: string) {
  assert.deepEqual(
    got.map((h) => index.docAt(h.slot).id),
    want.map((w) => w.id),
    what,
  );
  got.forEach((h, i) => assert.ok(Math.abs(h.score - want[i].score) < 1e-9 * Math.max(1, want[i].score), `${what}: score ${h.score} vs ${want[i].score}`));
}

test('top-k equals brute-force scoring on random SPLADE-like data', () => {
  const docs = randomCorpus(1500, 7);
  const index = new SparseIndex(identity);
  for (const d of docs) index.add({ id: d.id, text: '' }, d.vec);
  const queries = syntheticVectors(60, { vocabSize: identity.vocabSize, nnz: 20, seed: 99 });
  for (const [qi, q] of queries.entries()) {
    for (const k of [1, 10, 100]) {
      assertSameHits(index, index.search(q, k), bruteForceTopK(q, docs, k), `query ${qi}, k=${k}`);
      assertSameHits(index, index.exhaustiveSearch(q, k), bruteForceTopK(q, docs, k), `exhaustive ${qi}, k=${k}`);
    }
  }
});

test('MaxScore pruning scores few documents in full and stays exact, also after removals', () => {
  // enough documents for many blocks and the first-blocks threshold; light frequent terms
  const V = 5000;
  const id5k = { modelHash: 'c'.repeat(64), vocabSize: V };
  const docs = syntheticVectors(20_000, { vocabSize: V, nnz: 40, seed: 17, weighting: 'flops' }).map((vec, i) => ({ id: `d${i}`, vec }));
  const index = new SparseIndex(id5k);
  for (const d of docs) index.add({ id: d.id, text: '' }, d.vec);
  const queries = syntheticVectors(40, { vocabSize: V, nnz: 20, seed: 4, weighting: 'flops' });
  let scored = 0;
  let all = 0;
  for (const [qi, q] of queries.entries()) {
    for (const k of [1, 10, 50]) {
      const st = { scored: 0 };
      const ex = { scored: 0 };
      const got = index.search(q, k, st);
      const want = index.exhaustiveSearch(q, k, ex);
      // same slots and bit-identical scores: both add the terms in the same order
      assert.deepEqual(got, want, `query ${qi}, k=${k}`);
      scored += st.scored;
      all += ex.scored;
    }
    if (qi < 5) assertSameHits(index, index.search(q, 10), bruteForceTopK(q, docs, 10), `brute force ${qi}`);
  }
  assert.ok(scored < all / 10, `pruning scored ${scored} of ${all} documents`);
  // removed documents must neither be returned nor set the threshold
  const live = docs.filter((_, i) => i % 3 !== 0);
  docs.forEach((d, i) => i % 3 === 0 && index.remove(d.id));
  for (const q of queries.slice(0, 10)) for (const k of [1, 10]) assertSameHits(index, index.search(q, k), bruteForceTopK(q, live, k), `after removals k=${k}`);
});

test('exact when weights ignore term frequency (pruning cannot help and the exhaustive pass answers)', () => {
  const V = 5000;
  const id5k = { modelHash: 'c'.repeat(64), vocabSize: V };
  const docs = syntheticVectors(12_000, { vocabSize: V, nnz: 40, seed: 23, weighting: 'independent' }).map((vec, i) => ({ id: `d${i}`, vec }));
  const index = new SparseIndex(id5k);
  for (const d of docs) index.add({ id: d.id, text: '' }, d.vec);
  for (const q of syntheticVectors(20, { vocabSize: V, nnz: 20, seed: 5 })) {
    assert.deepEqual(index.search(q, 10), index.exhaustiveSearch(q, 10));
  }
  for (const q of syntheticVectors(3, { vocabSize: V, nnz: 20, seed: 6 })) assertSameHits(index, index.search(q, 10), bruteForceTopK(q, docs, 10), 'brute force');
});

test('documents added between searches are merged into the postings exactly (fresh and loaded indexes)', async () => {
  const docs = randomCorpus(900, 31);
  const index = new SparseIndex(identity);
  const queries = syntheticVectors(15, { vocabSize: identity.vocabSize, nnz: 20, seed: 12 });
  const added: typeof docs = [];
  for (let i = 0; i < docs.length; i += 300) {
    for (const d of docs.slice(i, i + 300)) index.add({ id: d.id, text: '' }, d.vec);
    added.push(...docs.slice(i, i + 300));
    assert.equal(index.numPostings, added.reduce((n, d) => n + d.vec.ids.length, 0));
    for (const q of queries) assertSameHits(index, index.search(q, 10), bruteForceTopK(q, added, 10), `after ${added.length} added`);
    const t = docs[i].vec.ids[0];
    assert.equal(index.weightOf(index.numSlots - 300, t), docs[i].vec.weights[0]);
  }
  const dir = join(mkdtempSync(join(tmpdir(), 'sb-index-')), 'idx');
  await saveIndex(index, dir);
  const { index: back } = await loadIndex(dir);
  const extra = randomCorpus(200, 32).map((d) => ({ ...d, id: `x${d.id}` }));
  for (const d of extra) back.add({ id: d.id, text: '' }, d.vec);
  back.remove(docs[0].id);
  const live = [...docs.slice(1), ...extra];
  for (const q of queries) assertSameHits(back, back.search(q, 10), bruteForceTopK(q, live, 10), 'loaded, then updated');
});

test('results stay exact after removals, replacements and compaction', () => {
  const docs = randomCorpus(3000, 11);
  const index = new SparseIndex(identity);
  for (const d of docs) index.add({ id: d.id, text: '' }, d.vec);
  const rand = mulberry32(5);
  const live = new Map(docs.map((d) => [d.id, d]));
  // remove a third (enough to trigger automatic compaction), replace some with new vectors
  const fresh = syntheticVectors(200, { vocabSize: identity.vocabSize, nnz: 40, seed: 1234 });
  for (const d of docs) if (rand() < 0.35) {
    assert.equal(index.remove(d.id), true);
    live.delete(d.id);
  }
  fresh.forEach((vec, i) => {
    const id = docs[i * 7].id;
    index.add({ id, text: 'replaced' }, vec);
    live.set(id, { id, vec });
  });
  assert.equal(index.size, live.size);
  assert.equal(index.remove('no-such-doc'), false);
  const queries = syntheticVectors(30, { vocabSize: identity.vocabSize, nnz: 20, seed: 3 });
  for (const q of queries) assertSameHits(index, index.search(q, 10), bruteForceTopK(q, [...live.values()], 10), 'after updates');
  index.compact();
  assert.equal(index.numSlots, live.size);
  for (const q of queries) assertSameHits(index, index.search(q, 10), bruteForceTopK(q, [...live.values()], 10), 'after compaction');
});

test('equal scores rank by document id descending (trec_eval order), whatever the insertion order', () => {
  const index = new SparseIndex(identity);
  const v: SparseVector = { ids: Uint32Array.from([3, 9]), weights: Float32Array.from([1, 2]) };
  for (const id of ['b', 'd', 'a', 'c']) index.add({ id, text: id }, v);
  const q: SparseVector = { ids: Uint32Array.from([9]), weights: Float32Array.from([1]) };
  assert.deepEqual(index.search(q, 3).map((h) => index.docAt(h.slot).id), ['d', 'c', 'b']);
  assert.deepEqual(index.exhaustiveSearch(q, 3).map((h) => index.docAt(h.slot).id), ['d', 'c', 'b']);
});

test('bad vectors are refused with the passage named', () => {
  const index = new SparseIndex(identity);
  assert.throws(() => index.add({ id: 'x', text: '' }, { ids: Uint32Array.from([5, 2]), weights: Float32Array.from([1, 1]) }), /x.*ascending/);
  assert.throws(() => index.add({ id: 'y', text: '' }, { ids: Uint32Array.from([5000]), weights: Float32Array.from([1]) }), /outside the vocabulary/);
});

test('save/load round-trips exactly; damage, other versions and other models are refused', async () => {
  const docs = randomCorpus(400, 21);
  const index = new SparseIndex(identity);
  docs.forEach((d, i) => index.add({ id: d.id, title: i % 2 ? 'T' : undefined, text: `text ${i}`, source: { file: 'f.md', startLine: i + 1, endLine: i + 2, passage: i } }, d.vec));
  index.remove(docs[3].id);
  const dir = join(mkdtempSync(join(tmpdir(), 'sb-index-')), 'idx');
  const manifest = await saveIndex(index, dir, { corpus: '/x' });
  assert.equal(manifest.numDocs, 399);
  assert.equal(manifest.version, 1);
  const { index: back } = await loadIndex(dir, { expect: identity });
  assert.equal(back.size, 399);
  // loaded postings are views on the file's one buffer: memory follows the postings
  const fileBytes = statSync(join(dir, 'postings.bin')).size;
  assert.ok(back.bufferBytes() >= fileBytes && back.bufferBytes() < fileBytes + 4 * 4 * identity.vocabSize, `${back.bufferBytes()} vs ${fileBytes}`);
  assert.deepEqual(back.getDoc(docs[5].id), index.getDoc(docs[5].id));
  const queries = syntheticVectors(20, { vocabSize: identity.vocabSize, nnz: 20, seed: 8 });
  for (const q of queries) assert.deepEqual(back.search(q, 10).map((h) => [back.docAt(h.slot).id, h.score]), index.search(q, 10).map((h) => [index.docAt(h.slot).id, h.score]));
  // a loaded index can still be updated
  back.add({ id: 'new', text: 'n' }, docs[0].vec);
  assert.equal(back.getDoc('new')!.nnz, docs[0].vec.ids.length);

  await assert.rejects(loadIndex(dir, { expect: { modelHash: 'b'.repeat(64), vocabSize: 2000 } }), /built by another model.*Rebuild/);
  await assert.rejects(loadIndex(dir, { expect: { modelHash: 'a'.repeat(64), vocabSize: 3000 } }), /another model/);

  const postings = join(dir, 'postings.bin');
  const bytes = readFileSync(postings);
  bytes[bytes.length - 5] ^= 0xff;
  writeFileSync(postings, bytes);
  await assert.rejects(loadIndex(dir), /postings\.bin: checksum mismatch/);

  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, version: 99 }));
  await assert.rejects(loadIndex(dir), /version 99 is not supported/);
  await assert.rejects(loadIndex(join(dir, 'nope')), /manifest\.json is missing/);
});

test('removeFile drops every passage of one source file', () => {
  const index = new SparseIndex(identity);
  const v: SparseVector = { ids: Uint32Array.from([1]), weights: Float32Array.from([1]) };
  for (let i = 0; i < 3; i++) index.add({ id: `a.md#${i}`, text: '', source: { file: 'a.md', startLine: 1, endLine: 1, passage: i } }, v);
  index.add({ id: 'b.md#0', text: '', source: { file: 'b.md', startLine: 1, endLine: 1, passage: 0 } }, v);
  assert.equal(index.removeFile('a.md'), 3);
  assert.deepEqual([...index.liveDocs()].map((d) => d.id), ['b.md#0']);
});

test('pruned search equals exhaustive scoring: frequent-only queries, ties everywhere, removed best documents, empty queries', () => {
  // every vector is indexed twice under different ids, so every score is tied and the id order
  // decides; enough documents that the threshold seeding and both phase-2 paths run
  const V = 3000;
  const id3k = { modelHash: 'd'.repeat(64), vocabSize: V };
  const vecs = syntheticVectors(8000, { vocabSize: V, nnz: 40, seed: 41, weighting: 'flops' });
  const docs = vecs.flatMap((vec, i) => [{ id: `a${i}`, vec }, { id: `b${i}`, vec }]);
  const index = new SparseIndex(id3k);
  for (const d of docs) index.add({ id: d.id, text: '' }, d.vec);
  const byLength = Array.from({ length: V }, (_, t) => t).sort((a, b) => index.postingLength(b) - index.postingLength(a));
  const rand = mulberry32(9);
  const frequentOnly: SparseVector[] = [5, 20].map((n) => {
    const ids = Uint32Array.from(byLength.slice(0, n)).sort();
    return { ids, weights: Float32Array.from(ids, () => 0.1 + rand()) };
  });
  const queries = [...syntheticVectors(25, { vocabSize: V, nnz: 20, seed: 44, weighting: 'flops' }), ...frequentOnly];
  const check = (live: typeof docs, what: string) => {
    for (const [qi, q] of queries.entries()) {
      for (const k of [1, 10, 40]) {
        const got = index.search(q, k);
        assert.deepEqual(got, index.exhaustiveSearch(q, k), `${what}: query ${qi}, k=${k}`);
        if (k === 10 && qi % 5 === 0) assertSameHits(index, got, bruteForceTopK(q, live, k), `${what}: brute force ${qi}`);
      }
    }
  };
  check(docs, 'ties');
  // remove the best documents of every query: the next ones must take their place
  const removed = new Set<string>();
  for (const q of queries) for (const h of index.exhaustiveSearch(q, 3)) removed.add(index.docAt(h.slot).id);
  for (const id of removed) index.remove(id);
  assert.ok(removed.size > 20);
  check(docs.filter((d) => !removed.has(d.id)), 'after removing the best');
  // nothing to match: no terms, unknown-free zero weights, k = 0
  assert.deepEqual(index.search({ ids: new Uint32Array(0), weights: new Float32Array(0) }, 10), []);
  assert.deepEqual(index.search({ ids: Uint32Array.from([byLength[0]]), weights: Float32Array.from([0]) }, 10), []);
  assert.deepEqual(index.search(queries[0], 0), []);
});

test('postings staged over more than one chunk (and a document split across two) merge exactly', () => {
  // 90,000 documents × 100 terms = 9.0M postings: over the 2^23 postings of a staging chunk;
  // document 83,886 holds postings 8,388,600–8,388,699, across the chunk boundary
  const V = 5000;
  const n = 90_000;
  const index = new SparseIndex({ modelHash: 'chunks', vocabSize: V } as never);
  const ids = new Uint32Array(100);
  const weights = new Float32Array(100);
  const vec = (i: number) => {
    for (let j = 0; j < 100; j++) {
      ids[j] = j * 50 + (i % 50);
      weights[j] = 1 + ((i * 31 + j) % 97) / 97;
    }
    return { ids, weights };
  };
  for (let i = 0; i < n; i++) index.add({ id: `d${i}`, text: '' }, vec(i));
  assert.equal(index.numPostings, n * 100);
  assert.equal(index.postingLength(7 * 50 + 3), n / 50);
  for (const i of [0, 83_885, 83_886, 83_887, n - 1]) {
    const slot = i; // slots follow insertion order
    for (const j of [0, 7, 8, 99]) assert.equal(index.weightOf(slot, j * 50 + (i % 50)), Math.fround(1 + ((i * 31 + j) % 97) / 97), `doc ${i} term ${j}`);
    assert.equal(index.weightOf(slot, ((i + 1) % 50) + 50), 0);
  }
  const q = { ids: Uint32Array.from([3, 403, 1203, 4953, 4999]), weights: Float32Array.from([0.5, 1, 2, 0.25, 3]) };
  assert.deepEqual(index.search(q, 10), index.exhaustiveSearch(q, 10));
});
