// `sembridge demo`: the whole chain on the bundled fixtures, offline, in seconds: transfer the tiny
// English SPLADE-style model to a Korean tokenizer with the fixture bridge model, encode a Korean
// sentence, then index, search and evaluate the Korean test collection (base model vs transferred).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseCliArgs as parseArgs } from '../args';
import { writeFolderAtomically } from '../../core/atomicOutput';
import { defaultCacheDir } from '../../core/bridge/bridgeCache';
import { loadBeirDataset } from '../../core/corpus/dataset';
import { loadSparseEncoder } from '../../core/encode/sparseEncoder';
import { SemBridgeError } from '../../core/errors';
import { evaluateModel } from '../../core/eval/evaluateModel';
import { saveIndex } from '../../core/index/indexStore';
import { runInit } from '../../core/init';
import { DEMO_MODELS_NOTICE } from '../../core/demoModels';
import type { CliCommand } from '../command';
import { quoteArg } from './init';
import { progressPrinter } from './progressLine';

/** The package root (the folder of sembridge's package.json), from src/cli/commands or from dist/. */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'sembridge') return dir;
      } catch {
        /* keep looking */
      }
    }
    if (dirname(dir) === dir) throw new SemBridgeError('cannot find the sembridge package root', from);
  }
}

export const command: CliCommand = {
  help: `usage: sembridge demo [--out DIR] [--force] [--verbose]

Runs the whole SemBridge chain on the bundled fixtures (tiny models, no network): init (English
bert-mlm-en -> Korean WordPiece, fixture bridge model), encode a Korean sentence, index + search + eval
on the Korean test collection for the source model and the transferred one. Writes the transferred model
and the index under --out (default: ${join('~', '.cache', 'sembridge', 'demo')}, replaced by the next demo run; an
existing --out is replaced only when it is a SemBridge demo folder, --force replaces another one, moving
it aside) and prints a short summary and what to try next.`,

  async run(args) {
    const { values } = parseArgs({ args, options: { out: { type: 'string' }, force: { type: 'boolean', default: false }, verbose: { type: 'boolean', default: false } } });
    const fixtures = join(packageRoot(), 'test', 'fixtures');
    const paths = {
      source: join(fixtures, 'models', 'bert-mlm-en'),
      target: join(fixtures, 'tokenizers', 'ko-wordpiece'),
      bridge: join(fixtures, 'models', 'bridge-multilingual'),
      data: join(fixtures, 'corpus', 'ko'),
    };
    for (const [what, p] of Object.entries(paths))
      if (!existsSync(p)) throw new SemBridgeError(`the demo's ${what} fixture is missing (the demo runs from a source checkout)`, p);
    // one well-known folder, replaced whole by each run (never a new temporary folder per run)
    const out = values.out ?? join(defaultCacheDir(), 'demo');
    const progress = progressPrinter(!values.verbose);
    console.log(`NOTE: ${DEMO_MODELS_NOTICE}`);
    await writeFolderAtomically(out, (tmp) => runDemo(tmp, out, paths, progress), { kind: 'demo', force: values.force, inputs: Object.values(paths) });
    console.log(`demo folder: ${out} (replaced by the next 'sembridge demo')`);
    console.log('next:');
    console.log(`  sembridge encode --model ${quoteArg(join(out, 'model-ko'))} "서울의 날씨"`);
    console.log(`  sembridge search --index ${quoteArg(join(out, 'index-ko'))} "강"`);
    console.log(`  sembridge init --source YOUR-SPLADE --target-tokenizer YOUR-TOKENIZER --bridge YOUR-BRIDGE --out NEW-FOLDER`);
    return 0;
  },
};

/** The demo's steps, writing into `dir` (the temporary folder); `out` is where it will appear. */
async function runDemo(dir: string, out: string, paths: { source: string; target: string; bridge: string; data: string }, progress: ReturnType<typeof progressPrinter>): Promise<void> {
  const model = join(dir, 'model-ko');

  console.log('1. init: bert-mlm-en (English) -> Korean WordPiece tokenizer, bridge model bridge-multilingual');
  const init = await runInit(
    { source: paths.source, targetTokenizer: paths.target, bridge: paths.bridge, out: model, cacheDir: join(dir, 'cache'), skipDiagnostics: true },
    { onProgress: progress },
  );
  const c = init.counts;
  console.log(`   ${c.total} target tokens: ${c.exact + c.fuzzy + c.symbol + c.role} copied, ${c.bridged} bridged, ${c.fallback} fallback -> ${join(out, 'model-ko')}`);
  const mapping = readFileSync(join(model, 'sembridge', 'mapping.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { token: string; match: string; sources: { token: string; weight: number }[] });
  const home = mapping.find((m) => m.token === '집' && m.match === 'bridged');
  if (home) console.log(`   집 = ${home.sources.map((s) => `${s.weight.toFixed(2)}·${s.token}`).join(' + ')}`);

  const sentence = '우리 집은 강 옆에 있습니다.';
  const encoder = await loadSparseEncoder(model);
  const base = await loadSparseEncoder(paths.source);
  try {
    console.log(`2. encode "${sentence}"`);
    const [v] = await encoder.encode([sentence], { kind: 'query' });
    console.log(`   ${v.ids.length} active terms; top: ${encoder.topTerms(v, 8).map((t) => `${t.term} ${t.weight.toFixed(2)}`).join(', ')}`);

    console.log(`3. index + search + eval on ${paths.data}`);
    const dataset = await loadBeirDataset(paths.data, { judgedQueriesOnly: true });
    const evBase = await evaluateModel(base, dataset, { onProgress: progress });
    const evNew = await evaluateModel(encoder, dataset, { onProgress: progress });
    await saveIndex(evNew.index, join(dir, 'index-ko'), { model: resolve(out, 'model-ko'), corpus: paths.data, corpusKind: 'jsonl' }, { inputs: [paths.data] });
    const q = dataset.queries[0];
    const [qv] = await encoder.encode([q.text], { kind: 'query' });
    const hits = evNew.index.search(qv, 3);
    console.log(`   query "${q.text}":`);
    for (const h of hits) {
      const doc = dataset.corpus.find((d) => d.id === evNew.index.docAt(h.slot).id);
      console.log(`     ${h.score.toFixed(2)}  ${doc?.id}  ${(doc?.title ? doc.title + ': ' : '') + (doc?.text ?? '').slice(0, 50)}`);
    }
    const fmt = (e: typeof evNew) => `nDCG@10 ${e.metrics['nDCG@10'].toFixed(3)}, R@100 ${e.metrics['R@100'].toFixed(3)}, FLOPS ${e.flops.toFixed(0)}`;
    console.log(`   source model (English vocabulary): ${fmt(evBase)}   [tiny demo models: not a quality figure]`);
    console.log(`   transferred model (Korean vocab.): ${fmt(evNew)}   [tiny demo models: not a quality figure]`);
    console.log(`   index saved to ${join(out, 'index-ko')}`);
    console.log(`NOTE: ${DEMO_MODELS_NOTICE}`);
  } finally {
    await encoder.dispose();
    await base.dispose();
  }
}
