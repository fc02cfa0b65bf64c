// `sembridge index`: encodes a corpus into an on-disk sparse index, or updates one in place for
// changed workspace files.
import { existsSync, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { lockOutput } from '../../core/atomicOutput';
import { lockWaitMs } from '../../core/fileLock';
import { checkOutputTarget } from '../../core/outputGuard';
import { parseCliArgs as parseArgs } from '../args';
import { SemBridgeError } from '../../core/errors';
import { loadCorpus } from '../../core/corpus/dataset';
import { DEFAULT_PASSAGE_WINDOW } from '../../core/corpus/passages';
import { DEFAULT_TEXT_EXTENSIONS } from '../../core/corpus/folderCorpus';
import { loadSparseEncoder } from '../../core/encode/sparseEncoder';
import { buildIndex } from '../../core/index/buildIndex';
import { updateFolderIndex } from '../../core/index/incremental';
import { loadIndex, readManifest, saveIndex } from '../../core/index/indexStore';
import type { CliCommand } from '../command';
import { interruptSignal, onMalformedOption, positiveInt, reportProblems, splitList, stderrProgress } from '../retrievalOptions';

export const command: CliCommand = {
  help: `usage: sembridge index --model DIR --corpus PATH --out DIR [options]
       sembridge index --out DIR --update FILE [FILE ...]

Builds a sparse inverted index (exact MaxScore top-k) of a corpus with a sparse encoder. The index
records the model's hash and vocabulary size, and refuses to be searched with another model.

  --model DIR          sparse encoder folder (for --update: default, the model the index was built with)
  --corpus PATH        a folder of text files, a BEIR folder, or a JSONL file ({"_id"|"id"|"docid", "title"?, "text"})
  --out DIR            index folder to write (replaced atomically; an existing one only when it is a SemBridge index)
  --force              replace an --out that is not a SemBridge index (moved aside, not deleted)
  --window N           words per passage when splitting text files (default ${DEFAULT_PASSAGE_WINDOW.window})
  --stride N           words between passage starts (default ${DEFAULT_PASSAGE_WINDOW.stride})
  --ext LIST           file endings read from a folder (default ${DEFAULT_TEXT_EXTENSIONS.join(',')})
  --batch-size N       texts per encoder call (default 32)
  --on-malformed M     skip (default) or stop at a malformed JSONL line
  --update             re-index the given files of the folder the index was built from
                       (deleted files are removed, changed ones re-encoded; files must lie in that folder).
                       Runs on one index take turns: a second waits up to SEMBRIDGE_LOCK_WAIT_S (default 120) seconds`,

  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        corpus: { type: 'string' },
        out: { type: 'string' },
        window: { type: 'string' },
        stride: { type: 'string' },
        ext: { type: 'string' },
        'batch-size': { type: 'string' },
        'on-malformed': { type: 'string' },
        update: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
      },
    });
    if (!values.out) throw new SemBridgeError('is required', '--out');
    const batchSize = positiveInt(values['batch-size'], '--batch-size', 32);
    const signal = interruptSignal();
    const onProgress = stderrProgress();
    try {
      if (values.update) return await update(values.out, values.model, positionals, batchSize, signal, onProgress);
      if (positionals.length) throw new SemBridgeError(`unexpected argument '${positionals[0]}' (files are only given with --update)`, 'arguments');
      if (!values.model) throw new SemBridgeError('is required', '--model');
      if (!values.corpus) throw new SemBridgeError('is required', '--corpus');
      const window = positiveInt(values.window, '--window', DEFAULT_PASSAGE_WINDOW.window);
      const stride = positiveInt(values.stride, '--stride', Math.min(window, DEFAULT_PASSAGE_WINDOW.stride));
      const extensions = splitList(values.ext) ?? DEFAULT_TEXT_EXTENSIONS;
      const corpus = await loadCorpus(values.corpus, { window, stride, extensions, onMalformed: onMalformedOption(values['on-malformed']) });
      reportProblems(corpus.problems);
      if (corpus.items.length === 0) throw new SemBridgeError('no passages to index', values.corpus);
      const guard = { force: values.force, inputs: [values.model, values.corpus], lockWaitMs: lockWaitMs(120_000) };
      // refuse a bad --out before the encoding, not after it
      await checkOutputTarget(values.out, { ...guard, kind: 'index' });
      const encoder = await loadSparseEncoder(values.model);
      try {
        const t0 = Date.now();
        const index = await buildIndex(encoder, corpus.items, { batchSize, onProgress, signal });
        // a folder of text files (a BEIR folder is read through its corpus.jsonl)
        const isFolder = (await fs.stat(values.corpus)).isDirectory() && !existsSync(join(values.corpus, 'corpus.jsonl')) && !existsSync(join(values.corpus, 'corpus.jsonl.gz'));
        const manifest = await saveIndex(index, values.out, {
          model: resolve(values.model),
          corpus: resolve(values.corpus),
          corpusKind: isFolder ? 'folder' : 'jsonl',
          // the key the extension reads for folder indexes
          ...(isFolder ? { corpusRoot: resolve(values.corpus) } : {}),
          window,
          stride,
          extensions,
        }, guard);
        console.log(
          `indexed ${manifest.numDocs} passages (${manifest.numPostings} postings, ${(manifest.numPostings / Math.max(1, manifest.numDocs)).toFixed(1)} terms/passage) in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${values.out}`,
        );
      } finally {
        await encoder.dispose();
      }
      return 0;
    } finally {
      signal.dispose();
    }
  },
};

async function update(
  out: string,
  modelOpt: string | undefined,
  files: string[],
  batchSize: number,
  signal: ReturnType<typeof interruptSignal>,
  onProgress: ReturnType<typeof stderrProgress>,
): Promise<number> {
  if (files.length === 0) throw new SemBridgeError('give the changed or deleted files to re-index', '--update');
  // read, update and save under the index's lock: two updates never read the same old index
  await readManifest(out); // a missing index is refused before any lock file is made
  const lock = await lockOutput(out, { waitMs: lockWaitMs(120_000) });
  try {
    return await updateLocked(out, modelOpt, files, batchSize, signal, onProgress);
  } finally {
    await lock.release();
  }
}

async function updateLocked(
  out: string,
  modelOpt: string | undefined,
  files: string[],
  batchSize: number,
  signal: ReturnType<typeof interruptSignal>,
  onProgress: ReturnType<typeof stderrProgress>,
): Promise<number> {
  const manifest = await readManifest(out);
  const build = manifest.build ?? {};
  // the extension records the folder as corpusRoot
  const root = typeof build.corpusRoot === 'string' ? build.corpusRoot : build.corpusKind === 'folder' && typeof build.corpus === 'string' ? build.corpus : undefined;
  if (!root) throw new SemBridgeError('--update works on indexes built from a folder of text files; rebuild this one instead', out);
  const model = modelOpt ?? (typeof build.model === 'string' ? build.model : undefined);
  if (!model) throw new SemBridgeError('is required (the index does not record its model folder)', '--model');
  const encoder = await loadSparseEncoder(model);
  try {
    const { index } = await loadIndex(out, { expect: { modelHash: encoder.modelHash, vocabSize: encoder.vocabSize } });
    const report = await updateFolderIndex(index, encoder, root, files.map((f) => resolve(f)), {
      window: typeof build.window === 'number' ? build.window : undefined,
      stride: typeof build.stride === 'number' ? build.stride : undefined,
      batchSize,
      onProgress,
      signal,
    });
    reportProblems(report.problems);
    await saveIndex(index, out, build, { inputs: [root, model] });
    console.log(`updated ${report.filesUpdated} file(s), removed ${report.filesRemoved}: -${report.removedPassages} +${report.addedPassages} passages; ${index.size} passages in ${out}`);
  } finally {
    await encoder.dispose();
  }
  return 0;
}
