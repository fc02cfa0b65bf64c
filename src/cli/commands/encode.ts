// `sembridge encode --model DIR "text" ...`: prints each text's heaviest expansion terms.
import { parseCliArgs as parseArgs } from '../args';
import { SemBridgeError } from '../../core/errors';
import { loadSparseEncoder } from '../../core/encode/sparseEncoder';
import type { CliCommand } from '../command';

export const command: CliCommand = {
  help: `usage: sembridge encode --model DIR [options] "text" ["text" ...]

Encodes each text with a sparse encoder folder (SPLADE / sentence-transformers SparseEncoder layout,
onnx/model.onnx or model.safetensors) and prints its heaviest terms with their weights.

  --model DIR        the model folder (a source model or one written by 'sembridge init')
  --top N            terms to print per text (default 20)
  --max-length N     truncate inputs to N tokens (default: the model's maximum)
  --threads N        onnxruntime intra-op threads
  --query            encode as queries (the default): an inference-free (Router) model uses its query weights
  --document         encode as documents (the model's document route)
  --json             print one JSON object per text: {text, active, terms: [{id, term, weight}]}`,

  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        top: { type: 'string', default: '20' },
        'max-length': { type: 'string' },
        threads: { type: 'string' },
        json: { type: 'boolean', default: false },
        query: { type: 'boolean', default: false },
        document: { type: 'boolean', default: false },
      },
    });
    if (values.query && values.document) throw new SemBridgeError('give --query or --document, not both', '--document');
    if (!values.model) throw new SemBridgeError('is required', '--model');
    if (positionals.length === 0) throw new SemBridgeError('give at least one text to encode', 'arguments');
    const top = positiveInt(values.top, '--top');
    const encoder = await loadSparseEncoder(values.model, {
      threads: values.threads ? positiveInt(values.threads, '--threads') : undefined,
      maxLength: values['max-length'] ? positiveInt(values['max-length'], '--max-length') : undefined,
    });
    try {
      const vectors = await encoder.encode(positionals, { kind: values.document ? 'document' : 'query' });
      positionals.forEach((text, i) => {
        const terms = encoder.topTerms(vectors[i], top);
        if (values.json) {
          console.log(JSON.stringify({ text, active: vectors[i].ids.length, terms }));
          return;
        }
        console.log(`${text}\n  ${vectors[i].ids.length} active terms`);
        const width = Math.max(...terms.map((t) => t.term.length), 4);
        for (const t of terms) console.log(`  ${t.term.padEnd(width)}  ${t.weight.toFixed(4)}  (id ${t.id})`);
      });
    } finally {
      await encoder.dispose();
    }
    return 0;
  },
};

export function positiveInt(v: string | undefined, option: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new SemBridgeError(`must be a positive integer, got '${v}'`, option);
  return n;
}
