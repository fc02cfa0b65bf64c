// `sembridge demo`: the whole chain on the bundled fixtures, offline, in seconds: transfer the tiny
// English SPLADE-style model to a Korean tokenizer with the fixture bridge model, encode a Korean
// sentence, then index, search and evaluate the Korean test collection (base model vs transferred).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { parseCliArgs as parseArgs } from '../args';
import { loadBeirDataset } from '../../core/corpus/dataset';
import { loadSparseEncoder } from '../../core/encode/sparseEncoder';
import { SemBridgeError } from '../../core/errors';
import { evaluateModel } from '../../core/eval/evaluateModel';
import { saveIndex } from '../../core/index/indexStore';
import { runInit } from '../../core/init';
import type { CliCommand } from '../command';
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
  help: `usage: sembridge demo [--out DIR] [--verbose]

Runs the whole SemBridge chain on the bundled fixtures (tiny models, no network): init (English
bert-mlm-en -> Korean WordPiece, fixture bridge model), encode a Korean sentence, index + search + eval
on the Korean test collection for the source model and the transferred one. Writes the transferred model
and the index under --out (default: sembridge-demo-USER in the temporary folder, replaced by each run)
and prints a short summary and the next commands to try.`,

  async run(args) {
    const { values } = parseArgs({ args, options: { out: { type: 'string' }, verbose: { type: 'boolean', default: false } } });
    const fixtures = join(packageRoot(), 'test', 'fixtures');
    const paths = {
      source: join(fixtures, 'models', 'bert-mlm-en'),
      target: join(fixtures, 'tokenizers', 'ko-wordpiece'),
      bridge: join(fixtures, 'models', 'bridge-multilingual'),
      data: join(fixtures, 'corpus', 'ko'),
    };
    for (const [what, p] of Object.entries(paths))
      if (!existsSync(p)) throw new SemBridgeError(`the demo's ${what} fixture is missing (the demo runs from a source checkout)`, p);
    // one fixed default folder, replaced by each run (a new temp folder per run piled up)
    const out = values.out ?? join(tmpdir(), `sembridge-demo-${userInfo().username.replace(/[^\w.-]/g, '_')}`);
    await mkdir(out, { recursive: true });
    const model = join(out, 'model-ko');
    const progress = progressPrinter(!values.verbose);

    console.log('1. init: bert-mlm-en (English) -> Korean WordPiece tokenizer, bridge model bridge-multilingual');
    const init = await runInit(
      { source: paths.source, targetTokenizer: paths.target, bridge: paths.bridge, out: model, cacheDir: join(out, 'cache'), skipDiagnostics: true },
      { onProgress: progress },
    );
    const c = init.counts;
    console.log(`   ${c.total} target tokens: ${c.exact + c.fuzzy + c.symbol + c.role} copied, ${c.bridged} bridged, ${c.fallback} fallback -> ${model}`);
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
      await saveIndex(evNew.index, join(out, 'index-ko'));
      const q = dataset.queries[0];
      const [qv] = await encoder.encode([q.text], { kind: 'query' });
      const hits = evNew.index.search(qv, 3);
      console.log(`   query "${q.text}":`);
      for (const h of hits) {
        const doc = dataset.corpus.find((d) => d.id === evNew.index.docAt(h.slot).id);
        console.log(`     ${h.score.toFixed(2)}  ${doc?.id}  ${(doc?.title ? doc.title + ': ' : '') + (doc?.text ?? '').slice(0, 50)}`);
      }
      const fmt = (e: typeof evNew) => `nDCG@10 ${e.metrics['nDCG@10'].toFixed(3)}, R@100 ${e.metrics['R@100'].toFixed(3)}, FLOPS ${e.flops.toFixed(0)}`;
      console.log(`   source model (English vocabulary): ${fmt(evBase)}`);
      console.log(`   transferred model (Korean vocab.): ${fmt(evNew)}`);
      console.log(`   index saved to ${join(out, 'index-ko')}`);
      console.log('(fixture models are tiny and untrained as retrievers: the numbers show the chain works, not retrieval quality)');
      console.log(`\nnext steps (the demo's outputs stay in ${out}; the next demo run replaces them):`);
      console.log(`  sembridge encode --model ${model} "${sentence}"`);
      console.log(`  sembridge search --index ${join(out, 'index-ko')} "${q.text}"`);
      console.log('  sembridge init --source DIR --target-tokenizer DIR --bridge DIR --out DIR   (your own models; see sembridge init --help)');
    } finally {
      await encoder.dispose();
      await base.dispose();
    }
    return 0;
  },
};
