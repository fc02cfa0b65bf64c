import { parseCliArgs as parseArgs } from '../args';
import { SemBridgeError } from '../../core/errors';
import { readMergedVocab, writeRandomBertModel } from '../../core/model/randomModel';
import type { CliCommand } from '../command';

export const command: CliCommand = {
  help: `sembridge generate-model --vocab DIR|vocab.txt [--vocab …] --out DIR [options]

Writes a seeded random-weight BERT model folder of real shapes (config.json, model.safetensors
with Hugging Face tensor names, vocab.txt, tokenizer_config.json, sentence-transformers files).
  --kind mlm|encoder     BertForMaskedLM (a SPLADE-like source) or BertModel with mean pooling (a bridge); default mlm
  --vocab PATH           vocab.txt or a folder holding one; repeat to merge vocabularies (multilingual bridge)
  --lowercase            the tokenizer lower-cases (default: on for one vocabulary, off when merging)
  --hidden 768 --layers 12 --heads 12 --intermediate 3072 --max-position 512 --seed 0
  --output-bias-std 0.5  std of the MLM output bias
  --force                replace an --out that is not a SemBridge model folder (moved aside, not deleted)`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        kind: { type: 'string', default: 'mlm' },
        vocab: { type: 'string', multiple: true },
        out: { type: 'string' },
        lowercase: { type: 'boolean' },
        hidden: { type: 'string', default: '768' },
        layers: { type: 'string', default: '12' },
        heads: { type: 'string', default: '12' },
        intermediate: { type: 'string', default: '3072' },
        'max-position': { type: 'string', default: '512' },
        seed: { type: 'string', default: '0' },
        'output-bias-std': { type: 'string', default: '0.5' },
        force: { type: 'boolean', default: false },
      },
    });
    if (!values.vocab?.length) throw new SemBridgeError('is required', '--vocab');
    if (!values.out) throw new SemBridgeError('is required', '--out');
    if (values.kind !== 'mlm' && values.kind !== 'encoder') throw new SemBridgeError(`must be mlm or encoder, not '${values.kind}'`, '--kind');
    const int = (name: string, v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new SemBridgeError(`must be a positive integer, not '${v}'`, `--${name}`);
      return n;
    };
    const vocab = await readMergedVocab(values.vocab);
    const started = Date.now();
    await writeRandomBertModel(values.out, {
      kind: values.kind,
      vocab,
      lowercase: values.lowercase ?? values.vocab.length === 1,
      hidden: int('hidden', values.hidden!),
      layers: int('layers', values.layers!),
      heads: int('heads', values.heads!),
      intermediate: int('intermediate', values.intermediate!),
      maxPosition: int('max-position', values['max-position']!),
      seed: Number(values.seed),
      outputBiasStd: Number(values['output-bias-std']),
      force: values.force,
      inputs: values.vocab,
    });
    console.log(`wrote ${values.out}: ${values.kind}, vocabulary ${vocab.length}, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
};
