// The compact mapping the host keeps for the hover and the mapping view, and the hover's content,
// built from a mapping file in the documented format and the real Korean fixture tokenizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MappingIndex, parseMappingJsonl, sourcesOf, matchTypeOf, searchKey } from '../../src/extension/mapping/compactMapping';
import { LineCache, weightIn } from '../../src/extension/model/lineCache';
import { hoverInfoAt, hoverMarkdown, markdownCode, openInspectorLink } from '../../src/extension/editor/hoverContent';
import { operations, wordsOf, type OperationContext } from '../../src/extension/worker/operations';
import { loadTokenizer } from '../../src/core/tokens';
import { fixturesPresent, makeKoModelFolder, makeLargeModelFolder } from '../helpers/extensionModel';

const ctx = (): OperationContext => ({ onProgress: () => {}, signal: { cancelled: false }, log: () => {}, transfer: () => {} });

test('parseMappingJsonl keeps every line in typed arrays, sources sorted by weight', () => {
  const text = [
    JSON.stringify({ id: 2, token: '##교', match: 'bridged', sources: [{ id: 7, token: 'school', weight: 0.25, cosine: 0.6 }, { id: 9, token: 'class', weight: 0.75, cosine: 0.7 }], support: 2 }),
    '',
    JSON.stringify({ id: 0, token: '[CLS]', match: 'role', sources: [{ id: 101, token: '[CLS]', weight: 1, cosine: 1 }], support: 1 }),
  ].join('\n');
  const m = parseMappingJsonl(text);
  assert.equal(m.size, 3);
  assert.equal(m.lines, 2);
  assert.equal(matchTypeOf(m, 1), undefined, 'id 1 has no line');
  assert.equal(matchTypeOf(m, 2), 'bridged');
  assert.deepEqual(
    sourcesOf(m, 2).map((s) => [s.token, s.weight]),
    [['class', 0.75], ['school', 0.25]],
  );
  assert.equal(m.sourceTokens[101], '[CLS]');
});

test('parseMappingJsonl names the file and line of a bad line', () => {
  assert.throws(() => parseMappingJsonl('{"id":0,"token":"a","match":"bridged","sources":[],"support":0}\n{oops', 'm.jsonl'), /m\.jsonl: line 2 is not valid JSON/);
  assert.throws(() => parseMappingJsonl('{"id":0,"token":"a","match":"magic","sources":[],"support":0}', 'm.jsonl'), /m\.jsonl:1: "match" must be one of/);
  assert.throws(() => parseMappingJsonl('{"id":-1,"token":"a","match":"exact","sources":[],"support":0}', 'm.jsonl'), /non-negative integer/);
  assert.throws(() => parseMappingJsonl('\n\n', 'm.jsonl'), /has no mapping lines/);
});

test('MappingIndex pages, filters and searches 60k tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-map-'));
  try {
    makeLargeModelFolder(dir, 60_000);
    const m = parseMappingJsonl(readFileSync(join(dir, 'sembridge', 'mapping.jsonl'), 'utf8'));
    const idx = new MappingIndex(m);
    const all = idx.query({ query: '', mode: 'prefix', match: 'all', minSupport: 0, offset: 0, limit: 100 });
    assert.equal(all.total, 60_000);
    assert.equal(all.rows.length, 100);
    const page = idx.query({ query: '', mode: 'prefix', match: 'all', minSupport: 0, offset: 59_950, limit: 100 });
    assert.equal(page.rows.length, 50);
    assert.equal(page.rows[49].id, 59_999);
    const fallback = idx.query({ query: '', mode: 'prefix', match: 'fallback', minSupport: 0, offset: 0, limit: 5 });
    assert.equal(fallback.total, 6_000);
    assert.ok(fallback.rows.every((r) => r.match === 'fallback'));
    const big = idx.query({ query: '', mode: 'prefix', match: 'bridged', minSupport: 5, offset: 0, limit: 5 });
    assert.ok(big.rows.every((r) => r.support >= 5));
    const prefix = idx.query({ query: 'TOK599', mode: 'prefix', match: 'all', minSupport: 0, offset: 0, limit: 500 });
    // tok599, tok5990..tok5999, tok59900..tok59999
    assert.equal(prefix.total, 111);
    assert.ok(prefix.rows.every((r) => r.token.startsWith('tok599')));
    const sub = idx.query({ query: '9999', mode: 'substring', match: 'all', minSupport: 0, offset: 0, limit: 500 });
    assert.ok(sub.rows.every((r) => r.token.includes('9999')));
    assert.equal(sub.total, 6); // tok9999, tok19999 … tok59999
    const h = idx.histogram(8);
    assert.equal(h.matchCounts.bridged, 54_000);
    assert.equal(h.bins.reduce((a, b) => a + b, 0), 54_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('searchKey ignores sub-word markers and case', () => {
  assert.equal(searchKey('##교'), '교');
  assert.equal(searchKey('\u2581Seoul'), 'seoul');
  assert.equal(searchKey('\u0120The'), 'the');
});

test('weightIn finds weights in an ascending sparse vector', () => {
  const v = { ids: [2, 5, 9, 40], weights: [0.1, 0.5, 0.9, 1.2] };
  assert.equal(weightIn(v, 9), 0.9);
  assert.equal(weightIn(v, 3), 0);
  assert.equal(weightIn(undefined, 3), 0);
});

test('hover content from a mapping file and the real Korean tokenizer', async (t) => {
  const missing = fixturesPresent();
  if (missing) return t.skip(missing);
  const dir = mkdtempSync(join(tmpdir(), 'sb-hover-'));
  try {
    makeKoModelFolder(dir);
    const mapping = await operations.loadMapping({ modelDir: dir }, ctx());
    const line = '학교 에서 공부 했다';
    const [analysis] = await operations.analyzeLines({ modelDir: dir, lines: [line] }, ctx());
    const tokenizer = await loadTokenizer(dir);
    assert.deepEqual(analysis.words, wordsOf(line, tokenizer));
    assert.equal(analysis.words.length, 4);
    const cache = new LineCache();
    cache.set(line, analysis);
    const info = hoverInfoAt(line, 1, cache, mapping);
    assert.ok(info, 'a word under character 1');
    assert.equal(info.word, '학교');
    assert.deepEqual(info.tokens.map((x) => x.id), tokenizer.encode('학교', { addSpecialTokens: false }));
    assert.equal(info.tokens[0].token, tokenizer.vocab[info.tokens[0].id]);
    for (const tok of info.tokens) assert.equal(tok.match, matchTypeOf(mapping, tok.id));
    assert.ok(info.lineVectorMissing, 'no encoder yet, so no line vector');
    const md = hoverMarkdown(info, 'ko-model');
    assert.match(md, /\*\*SemBridge\*\*/);
    assert.ok(md.includes(openInspectorLink(info.tokens[0].id)));
    const bridged = info.tokens.find((x) => x.match === 'bridged');
    if (bridged) assert.ok(md.includes(markdownCode(bridged.sources[0].token)));
    assert.equal(hoverInfoAt(line, 2, cache, mapping), undefined, 'the space between words');
    assert.equal(hoverInfoAt('not cached', 0, cache, mapping), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hover markdown shows hostile token strings literally', () => {
  assert.equal(markdownCode('a`b'), '``a`b``');
  assert.equal(markdownCode('`x'), '`` `x ``');
  assert.equal(markdownCode('<img src=x onerror=alert(1)>'), '`<img src=x onerror=alert(1)>`');
  const md = hoverMarkdown(
    {
      word: 'x',
      start: 0,
      end: 1,
      lineVectorMissing: false,
      tokens: [{ id: 1, token: '[a](command:evil)', match: 'bridged', lineWeight: 0.5, sources: [{ id: 2, token: 'p|q', weight: 1, cosine: 0.5 }] }],
    },
    '*model*',
  );
  assert.ok(md.includes('`[a](command:evil)`'), 'a link-looking token stays in a code span');
  assert.ok(md.includes('`p\\|q`'), 'a pipe cannot break the table');
  assert.ok(md.includes('\\*model\\*'));
  assert.match(md, /weight in line \*\*0\.500\*\*/);
});

test('the mapping query filters by any match kind and sorts by a column (ties in vocabulary order); export writes every row with its sources', async () => {
  const line = (id: number, token: string, match: string, support: number, cos: number) =>
    JSON.stringify({ id, token, match, support, sources: Array.from({ length: support }, (_, k) => ({ id: 50 + k, token: `src${k}`, weight: 1 / support, cosine: cos - k / 100 })) });
  const m = parseMappingJsonl([line(0, 'b', 'fuzzy', 1, 0.9), line(1, 'a,"x"', 'bridged', 3, 0.5), line(2, 'c', 'bridged', 2, 0.7), line(3, '=cmd', 'exact', 1, 1)].join('\n'));
  const index = new MappingIndex(m);
  const q = { query: '', mode: 'prefix' as const, match: 'all' as const, minSupport: 0, offset: 0, limit: 10 };
  assert.deepEqual(index.query({ ...q, match: 'fuzzy' }).rows.map((r) => r.id), [0]);
  assert.deepEqual(index.query({ ...q, match: 'exact' }).rows.map((r) => r.id), [3]);
  assert.deepEqual(index.query({ ...q, sort: 'support', desc: true }).rows.map((r) => r.id), [1, 2, 0, 3]);
  assert.deepEqual(index.query({ ...q, sort: 'topCosine' }).rows.map((r) => r.id), [1, 2, 0, 3]);
  assert.deepEqual(index.query({ ...q, sort: 'id', desc: true }).rows.map((r) => r.id), [3, 2, 1, 0]);
  const { InspectorBackend } = await import('../../src/extension/panel/inspectorBackend');
  const backend = new InspectorBackend({ session: { index, modelDir: '/m' } as never, info: () => ({ indexes: [], trusted: true }), alpha: () => 4, search: async () => ({}) as never, compareTableFile: () => undefined });
  const csv = await backend.exportRows({ ...q, match: 'bridged', sort: 'support', desc: true }, 'csv');
  assert.equal(csv.rows, 2);
  assert.deepEqual(csv.text.trim().split('\n'), [
    'id,token,match,support,top_source,top_cosine,sources',
    `1,"a,""x""",bridged,3,src0,${Math.fround(0.5)},src0:${Math.fround(1 / 3)} src1:${Math.fround(1 / 3)} src2:${Math.fround(1 / 3)}`,
    `2,c,bridged,2,src0,${Math.fround(0.7)},src0:0.5 src1:0.5`,
  ]);
  // a cell that a spreadsheet would run as a formula is quoted and prefixed
  assert.match((await backend.exportRows({ ...q, match: 'exact' }, 'csv')).text, /^3,"'=cmd",exact/m);
  const jsonl = await backend.exportRows({ ...q, match: 'fuzzy' }, 'jsonl');
  assert.deepEqual(JSON.parse(jsonl.text.trim()), { id: 0, token: 'b', match: 'fuzzy', support: 1, sources: [{ id: 50, token: 'src0', weight: 1, cosine: Math.fround(0.9) }] });
});

test('a mapping made with --alpha auto: each token keeps its own α, the inspector shows it as chosen for the token', async () => {
  const line = (id: number, match: string, alpha?: number) =>
    JSON.stringify({ id, token: `t${id}`, match, support: 1, sources: [{ id: 9, token: 's', weight: 1, cosine: 0.8 }], ...(alpha !== undefined ? { alpha } : {}) });
  const m = parseMappingJsonl([line(0, 'exact'), line(1, 'bridged', 6.5), line(2, 'bridged', 1.5009765625)].join('\n'));
  assert.ok(Number.isNaN(m.alphas[0]));
  assert.equal(m.alphas[1], 6.5);
  assert.equal(m.alphas[2], 1.5009765625, 'a grid α (multiple of 1/1024) is exact in float32');
  assert.throws(() => parseMappingJsonl(line(0, 'bridged', 0.5), 'map.jsonl'), /map\.jsonl:1: "alpha" must be a number > 1/);
  const { InspectorBackend } = await import('../../src/extension/panel/inspectorBackend');
  const backend = new InspectorBackend({ session: { index: new MappingIndex(m), modelDir: '/m' } as never, info: () => ({ indexes: [], trusted: true }), alpha: () => 4, search: async () => ({}) as never, compareTableFile: () => undefined });
  const token = (id: number) => (backend as unknown as { token(id: number): Promise<{ alpha: number; alphaAuto?: boolean }> }).token(id);
  assert.deepEqual(await token(1).then((d) => [d.alpha, d.alphaAuto]), [6.5, true]);
  assert.deepEqual(await token(0).then((d) => [d.alpha, d.alphaAuto]), [4, undefined], 'no α of its own: the model’s');
});
