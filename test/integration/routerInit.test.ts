// `sembridge init` on an inference-free (Router) source: the written folder is a Router again, its query
// weights follow the token mapping (or --idf-from-corpus), and `sembridge encode --query / --document`
// equals what sentence-transformers' SparseEncoder computes on that folder (reference/router-roundtrip.json,
// made by test/fixtures/make_router_roundtrip.py on this test's output; see test/fixtures/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBeirDataset } from '../../src/core/corpus/dataset';
import { passageText } from '../../src/core/corpus/types';
import { loadSparseEncoder } from '../../src/core/encode/sparseEncoder';
import { buildIndex } from '../../src/core/index/buildIndex';
import { runInit, type InitOptions } from '../../src/core/init';
import { SafetensorsReader } from '../../src/core/io/safetensors';
import { inspectModelFolder, hashFolder } from '../../src/core/model/hfFolder';
import { idfFromTokenIds } from '../../src/core/model/routerModel';
import { searchIndex } from '../../src/core/search';
import { loadTokenizer } from '../../src/core/tokens';
import type { TokenMapping } from '../../src/core/types';

const ROOT = join(__dirname, '..', '..');
const FIX = join(ROOT, 'test', 'fixtures');
const MODELS = join(FIX, 'models');
const SOURCE = join(MODELS, 'bert-mlm-en-router');
const TARGET = join(FIX, 'tokenizers', 'ko-wordpiece');
const KO_CORPUS = join(FIX, 'corpus', 'ko');
const work = mkdtempSync(join(tmpdir(), 'sb-router-init-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const ref = JSON.parse(readFileSync(join(FIX, 'reference', 'router-roundtrip.json'), 'utf8')) as {
  tolerance: number;
  queries: string[];
  documents: string[];
  query_vectors: { indices: number[]; values: number[] }[];
  document_vectors: { indices: number[]; values: number[] }[];
};

function opts(out: string, extra: Partial<InitOptions> = {}): InitOptions {
  return {
    source: SOURCE,
    targetTokenizer: TARGET,
    bridge: join(MODELS, 'bridge-multilingual'),
    out,
    cacheDir: join(work, 'cache'),
    bridgeInProcess: true,
    skipDiagnostics: true,
    ...extra,
  };
}

async function queryWeightsOf(dir: string): Promise<Float32Array> {
  const r = await SafetensorsReader.open(join(dir, 'query_0_SparseStaticEmbedding', 'model.safetensors'));
  try {
    return await r.readFloat32('weight');
  } finally {
    await r.close();
  }
}

const mapped = join(work, 'mapped');
let initDone: Promise<unknown> | undefined;
const initOnce = () => (initDone ??= runInit(opts(mapped)));

test('init on a Router source writes a Router folder; query weights follow mapping.jsonl; the source is untouched', async () => {
  const before = await hashFolder(SOURCE);
  const summary = (await initOnce()) as { report: { queryWeights: { from: string; counts: Record<string, number> } } };
  assert.equal(await hashFolder(SOURCE), before);
  for (const f of ['modules.json', 'router_config.json', 'idf.json', 'query_0_SparseStaticEmbedding/config.json', 'query_0_SparseStaticEmbedding/tokenizer.json', 'document_1_SpladePooling/config.json'])
    assert.ok(existsSync(join(mapped, f)), f);
  const folder = await inspectModelFolder(mapped);
  assert.ok(folder.router);
  assert.equal(folder.router.document.mlmDir, mapped, 'the MLM is at the root of the output');
  assert.equal(folder.spladePooling?.activation, 'log1p_relu', 'the source pooling is kept');
  assert.equal(summary.report.queryWeights.from, 'mapping');

  const sourceWeights = await queryWeightsOf(join(SOURCE));
  const target = await queryWeightsOf(mapped);
  const mapping = readFileSync(join(mapped, 'sembridge', 'mapping.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TokenMapping);
  assert.equal(target.length, mapping.length);
  let copied = 0;
  let bridged = 0;
  for (const m of mapping) {
    if (m.match === 'bridged') {
      const want = m.sources.reduce((a, s) => a + s.weight * sourceWeights[s.id], 0);
      assert.ok(Math.abs(target[m.id] - want) <= 1e-5, `bridged ${m.token}: ${target[m.id]} vs ${want}`);
      bridged++;
    } else if (m.match !== 'fallback') {
      assert.equal(target[m.id], sourceWeights[m.sources[0].id], `copied ${m.token}`);
      copied++;
    }
  }
  assert.ok(copied > 100 && bridged > 100, `copied ${copied}, bridged ${bridged}`);
  assert.deepEqual(summary.report.queryWeights.counts, { copied, bridged, fallback: mapping.length - copied - bridged });
  // idf.json holds the same table by token
  const idf = JSON.parse(readFileSync(join(mapped, 'idf.json'), 'utf8')) as Record<string, number>;
  const tok = await loadTokenizer(mapped);
  for (const [t, w] of Object.entries(idf).slice(0, 200)) assert.equal(Math.fround(w), target[tok.tokenToId(t)!], t);
});

function cliEncode(model: string, flag: string, texts: string[]): { id: number; weight: number }[][] {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'encode', '--model', model, flag, '--json', '--top', '100000', ...texts], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  return out.trim().split('\n').map((l) => (JSON.parse(l) as { terms: { id: number; weight: number }[] }).terms);
}

test('round trip: sembridge encode --query / --document on the init output equals sentence-transformers (1e-5)', async () => {
  await initOnce();
  const cases: [string, string[], typeof ref.query_vectors][] = [
    ['--query', ref.queries, ref.query_vectors],
    ['--document', ref.documents, ref.document_vectors],
  ];
  for (const [flag, texts, want] of cases) {
    const got = cliEncode(mapped, flag, texts);
    got.forEach((terms, i) => {
      const byId = new Map(terms.map((t) => [t.id, t.weight]));
      assert.equal(byId.size, want[i].indices.length, `${flag} ${i}: active terms`);
      want[i].indices.forEach((id, k) => {
        const w = byId.get(id);
        assert.ok(w !== undefined && Math.abs(w - want[i].values[k]) <= ref.tolerance, `${flag} "${texts[i]}" id ${id}: ${w} vs ${want[i].values[k]}`);
      });
    });
  }
});

test('search uses the query route: hit scores are the static query weights · document weights', async () => {
  await initOnce();
  const enc = await loadSparseEncoder(mapped);
  try {
    const ds = await loadBeirDataset(KO_CORPUS);
    const index = await buildIndex(enc, ds.corpus);
    const query = ds.queries[0].text;
    const result = await searchIndex(index, enc, query, { k: 3 });
    const tok = await loadTokenizer(mapped);
    const weights = await queryWeightsOf(mapped);
    const ids = [...new Set(tok.encode(query, { addSpecialTokens: false }))].filter((id) => weights[id] > 0).sort((a, b) => a - b);
    assert.deepEqual(result.queryTerms.map((t) => t.termId).sort((a, b) => a - b), ids, 'query terms = the distinct query tokens');
    for (const t of result.queryTerms) assert.equal(t.weight, weights[t.termId]);
    assert.ok(result.hits.length > 0);
    for (const h of result.hits) {
      const sum = h.contributions.reduce((a, c) => a + c.contribution, 0);
      assert.ok(Math.abs(sum - h.score) <= 1e-4 * Math.max(1, h.score), `${h.docId}: ${sum} vs ${h.score}`);
    }
  } finally {
    await enc.dispose();
  }
});

test('--idf-from-corpus: the query weights are IDF over the target corpus, the document route is unchanged', async () => {
  await initOnce();
  const out = join(work, 'idf');
  const summary = await runInit(opts(out, { idfFromCorpus: KO_CORPUS }));
  const report = summary.report.queryWeights as { from: string; corpusDocuments: number; formula: string };
  assert.equal(report.from, 'corpus');
  const ds = await loadBeirDataset(KO_CORPUS);
  assert.equal(report.corpusDocuments, ds.corpus.length);
  const tok = await loadTokenizer(TARGET);
  const want = idfFromTokenIds(ds.corpus.map((p) => tok.encode(passageText(p), { addSpecialTokens: false })), tok.vocab.length, tok.specialIds).weights;
  assert.deepEqual(Array.from(await queryWeightsOf(out)), Array.from(want));
  // unseen tokens get the df = 0 value; the document model is the same bytes as with mapped weights
  const n = ds.corpus.length;
  assert.ok(Array.from(want).some((w) => Math.abs(w - Math.log1p((n + 0.5) / 0.5)) < 1e-6));
  assert.deepEqual(readFileSync(join(out, 'model.safetensors')), readFileSync(join(mapped, 'model.safetensors')));
  assert.notDeepEqual(Array.from(await queryWeightsOf(out)), Array.from(await queryWeightsOf(mapped)));
});

test('--idf-from-corpus that does not exist is refused naming it', async () => {
  await assert.rejects(runInit(opts(join(work, 'nope'), { idfFromCorpus: join(work, 'missing.jsonl') })), /missing\.jsonl: corpus not found/);
  assert.equal(existsSync(join(work, 'nope')), false, 'nothing written');
});

test('--idf-from-corpus on a source that is not inference-free is refused (CLI before any work; core before writing)', async () => {
  const plain = join(MODELS, 'bert-mlm-en');
  let stderr = '';
  try {
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'init', '--source', plain, '--target-tokenizer', TARGET, '--bridge', join(MODELS, 'bridge-multilingual'), '--out', join(work, 'plain-cli'), '--idf-from-corpus', KO_CORPUS], { encoding: 'utf8', cwd: ROOT, stdio: 'pipe' });
    assert.fail('should have been refused');
  } catch (err) {
    stderr = String((err as { stderr?: string }).stderr);
  }
  assert.match(stderr, /--idf-from-corpus: applies only to inference-free \(Router\) sources/);
  assert.doesNotMatch(stderr, /at .*\.ts:\d+/, 'no stack trace');
  await assert.rejects(runInit({ ...opts(join(work, 'plain-core'), { idfFromCorpus: KO_CORPUS }), source: plain }), /not an inference-free \(Router\) model/);
  assert.equal(existsSync(join(work, 'plain-core')), false);
});
