// `init` on an inference-free (Router) source: the query weights of the target vocabulary, either
// carried over by the token mapping (default) or recomputed as IDF on a target-language corpus
// (--idf-from-corpus). See routerModel.ts for the arithmetic and README "Inference-free models".
import { loadCorpus } from '../corpus/dataset';
import { passageText } from '../corpus/types';
import { SemBridgeError } from '../errors';
import type { HfModelFolder } from '../model/hfFolder';
import { idfFromTokenIds, mapQueryWeights, readQueryWeights, readTextLines, type QueryWeightRule } from '../model/routerModel';
import { loadTokenizer, type LoadedTokenizer } from '../tokens';
import type { TokenMapping } from '../types';

export interface TransferredQueryWeights {
  /** [V_t] one weight per target token */
  weights: Float32Array;
  /** for report.json */
  report: {
    from: 'mapping' | 'corpus';
    sourceFile: string;
    counts?: Record<QueryWeightRule, number>;
    fallbackValue?: number;
    corpus?: string;
    corpusDocuments?: number;
    formula?: string;
    nonZero: number;
  };
}

export const IDF_FORMULA = 'ln(1 + (N - df + 0.5) / (df + 0.5)); df over the documents\' token ids without special tokens; special tokens 0';

/** Texts of --idf-from-corpus: a .txt file (one document per line) or any corpus `loadCorpus` reads. */
async function corpusTexts(path: string): Promise<string[]> {
  const lines = await readTextLines(path);
  if (lines) return lines;
  const { items } = await loadCorpus(path);
  return items.map(passageText);
}

/**
 * The target query weights of a Router source: by the mapping (copied → copy, bridged → the entmax
 * combination of the sources' weights, no source → median source weight), or IDF on `idfFromCorpus`.
 */
export async function transferQueryWeights(
  source: HfModelFolder,
  /** one line per target token, in id order (streamed by mappingEntries, or an array) */
  mapping: Iterable<TokenMapping> | readonly TokenMapping[],
  target: LoadedTokenizer,
  opts: { idfFromCorpus?: string } = {},
): Promise<TransferredQueryWeights> {
  const layout = source.router;
  if (!layout)
    throw new SemBridgeError('is not an inference-free (Router) model; --idf-from-corpus applies only to those', source.dir);
  const sourceVocab = source.vocabSize ?? 0;
  const sourceTokenizer = await loadTokenizer(layout.query.tokenizerDir);
  const read = await readQueryWeights(layout, sourceVocab, (t) => sourceTokenizer.tokenToId(t));
  if (Array.isArray(mapping) && mapping.length !== target.vocab.length)
    throw new SemBridgeError(`the mapping has ${mapping.length} rows but the target tokenizer ${target.vocab.length} tokens`, target.path);
  const nonZero = (w: Float32Array) => w.reduce((n, x) => n + (x !== 0 ? 1 : 0), 0);
  if (opts.idfFromCorpus) {
    const texts = await corpusTexts(opts.idfFromCorpus);
    if (texts.length === 0) throw new SemBridgeError('holds no documents to compute IDF from', opts.idfFromCorpus);
    const { weights, documents } = idfFromTokenIds(
      texts.map((t) => target.encode(t, { addSpecialTokens: false })),
      target.vocab.length,
      target.specialIds,
    );
    return {
      weights,
      report: { from: 'corpus', sourceFile: read.file, corpus: opts.idfFromCorpus, corpusDocuments: documents, formula: IDF_FORMULA, nonZero: nonZero(weights) },
    };
  }
  const mapped = mapQueryWeights(mapping, read.weights, target.vocab.length);
  return {
    weights: mapped.weights,
    report: { from: 'mapping', sourceFile: read.file, counts: mapped.counts, fallbackValue: mapped.fallbackValue, nonZero: nonZero(mapped.weights) },
  };
}
