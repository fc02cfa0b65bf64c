// `sembridge search --index DIR "query"`: ranked hits with per-term explanations.
import { parseCliArgs as parseArgs } from '../args';
import { SemBridgeError } from '../../core/errors';
import { loadSparseEncoder } from '../../core/encode/sparseEncoder';
import { loadIndex, readManifest } from '../../core/index/indexStore';
import { formatSearchResult, searchIndex } from '../../core/search';
import type { CliCommand } from '../command';
import { positiveInt } from '../retrievalOptions';

export const command: CliCommand = {
  help: `usage: sembridge search --index DIR [--model DIR] [options] "query"

Searches an index built by 'sembridge index'. Each hit shows its score, a snippet, where it comes
from (file and lines), and the terms that make up the score: query weight × document weight for
each matched term, decoded to the model's tokens. Query expansion terms that matched none of the
hits are listed after them (* = in no indexed document at all).

  --index DIR    the index folder
  --model DIR    the encoder (default: the model the index was built with); it must be that model
  --k N          hits to return (default 10)
  --terms N      contributions to print per hit (default 8)
  --snippet N    characters of passage text per hit (default 240)
  --json         machine-readable output: {query, queryTerms, hits: [{rank, docId, score, snippet,
                 source, contributions: [{termId, token, queryWeight, docWeight, contribution}]}],
                 unmatchedTerms, absentFromIndex}`,

  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        index: { type: 'string' },
        model: { type: 'string' },
        k: { type: 'string' },
        terms: { type: 'string' },
        snippet: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (!values.index) throw new SemBridgeError('is required', '--index');
    const query = positionals.join(' ');
    if (query.trim() === '') throw new SemBridgeError('give a non-empty query', 'query');
    const manifest = await readManifest(values.index);
    const model = values.model ?? (typeof manifest.build?.model === 'string' ? manifest.build.model : undefined);
    if (!model) throw new SemBridgeError('is required (the index does not record its model folder)', '--model');
    const encoder = await loadSparseEncoder(model);
    try {
      const { index } = await loadIndex(values.index, { expect: { modelHash: encoder.modelHash, vocabSize: encoder.vocabSize } });
      const result = await searchIndex(index, encoder, query, {
        k: positiveInt(values.k, '--k', 10),
        snippetChars: positiveInt(values.snippet, '--snippet', 240),
      });
      console.log(values.json ? JSON.stringify(result) : formatSearchResult(result, { terms: positiveInt(values.terms, '--terms', 8) }));
    } finally {
      await encoder.dispose();
    }
    return 0;
  },
};
