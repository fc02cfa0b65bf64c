// Seeded random-weight BERT model folders of real shapes. No pretrained weights can be had on
// these machines, so real-size runs (bert-base-uncased vocabulary, hidden 768) use generated
// weights laid out exactly as Hugging Face saves them, which Python `transformers` loads with no
// missing or unexpected keys.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFolderAtomically } from '../atomicOutput';
import { SemBridgeError } from '../errors';
import { encodeSafetensors, type TensorToWrite } from '../io/safetensors';
import { Rng } from '../random';
import { parseVocabTxt } from '../tokens/wordpieceJson';

export interface RandomBertOptions {
  /** BertForMaskedLM (SPLADE-style source) or BertModel with mean pooling (a bridge encoder) */
  kind: 'mlm' | 'encoder';
  /** id -> token; written as vocab.txt */
  vocab: string[];
  lowercase: boolean;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPosition: number;
  seed: number;
  initializerRange?: number;
  /** std of the MLM output bias; non-zero so that bias remapping can be checked */
  outputBiasStd?: number;
  /** replace an output folder that is not a SemBridge model folder (moved aside, not deleted) */
  force?: boolean;
  /** paths read (the vocabularies): the output may not overwrite them */
  inputs?: string[];
}

function normalTensor(rng: Rng, shape: number[], std: number, mean = 0): TensorToWrite {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.nextNormal();
  return { dtype: 'F32', shape, data };
}
const constTensor = (shape: number[], value: number): TensorToWrite => ({
  dtype: 'F32',
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value),
});

/** The tensors of a BERT model, with Hugging Face names, in a stable order. */
export function randomBertTensors(o: RandomBertOptions): Record<string, TensorToWrite> {
  if (o.hidden % o.heads !== 0) throw new SemBridgeError(`hidden ${o.hidden} is not a multiple of heads ${o.heads}`, '--hidden');
  const std = o.initializerRange ?? 0.02;
  const rng = new Rng(o.seed);
  const p = o.kind === 'mlm' ? 'bert.' : '';
  const V = o.vocab.length;
  const H = o.hidden;
  const t: Record<string, TensorToWrite> = {};
  const linear = (name: string, out: number, inp: number) => {
    t[`${name}.weight`] = normalTensor(rng, [out, inp], std);
    t[`${name}.bias`] = constTensor([out], 0);
  };
  const layerNorm = (name: string) => {
    t[`${name}.weight`] = constTensor([H], 1);
    t[`${name}.bias`] = constTensor([H], 0);
  };
  t[`${p}embeddings.word_embeddings.weight`] = normalTensor(rng, [V, H], std);
  t[`${p}embeddings.position_embeddings.weight`] = normalTensor(rng, [o.maxPosition, H], std);
  t[`${p}embeddings.token_type_embeddings.weight`] = normalTensor(rng, [2, H], std);
  layerNorm(`${p}embeddings.LayerNorm`);
  for (let l = 0; l < o.layers; l++) {
    const L = `${p}encoder.layer.${l}`;
    linear(`${L}.attention.self.query`, H, H);
    linear(`${L}.attention.self.key`, H, H);
    linear(`${L}.attention.self.value`, H, H);
    linear(`${L}.attention.output.dense`, H, H);
    layerNorm(`${L}.attention.output.LayerNorm`);
    linear(`${L}.intermediate.dense`, o.intermediate, H);
    linear(`${L}.output.dense`, H, o.intermediate);
    layerNorm(`${L}.output.LayerNorm`);
  }
  if (o.kind === 'mlm') {
    linear('cls.predictions.transform.dense', H, H);
    layerNorm('cls.predictions.transform.LayerNorm');
    // The decoder weight is tied to the word embeddings, so HF saves no separate copy.
    t['cls.predictions.bias'] = normalTensor(rng, [V], o.outputBiasStd ?? 0.5);
  } else {
    linear('pooler.dense', H, H);
  }
  return t;
}

function bertConfig(o: RandomBertOptions): Record<string, unknown> {
  return {
    architectures: [o.kind === 'mlm' ? 'BertForMaskedLM' : 'BertModel'],
    model_type: 'bert',
    vocab_size: o.vocab.length,
    hidden_size: o.hidden,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    intermediate_size: o.intermediate,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: o.maxPosition,
    type_vocab_size: 2,
    initializer_range: o.initializerRange ?? 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: Math.max(0, o.vocab.indexOf('[PAD]')),
    tie_word_embeddings: true,
    dtype: 'float32',
  };
}

/** Writes config.json, model.safetensors, vocab.txt + tokenizer_config.json (and the
 *  sentence-transformers files: SPLADE pooling for an MLM, mean pooling for an encoder). */
export async function writeRandomBertModel(outDir: string, o: RandomBertOptions): Promise<void> {
  await writeFolderAtomically(outDir, async (dir) => {
    const json = (name: string, value: unknown) => fs.writeFile(join(dir, name), JSON.stringify(value, null, 2) + '\n');
    await json('config.json', bertConfig(o));
    await fs.writeFile(join(dir, 'model.safetensors'), encodeSafetensors(randomBertTensors(o), { format: 'pt' }));
    await fs.writeFile(join(dir, 'vocab.txt'), o.vocab.join('\n') + '\n');
    await json('tokenizer_config.json', {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: o.lowercase,
      strip_accents: o.lowercase ? null : false,
      tokenize_chinese_chars: true,
      model_max_length: o.maxPosition,
    });
    await json('special_tokens_map.json', {
      unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]',
    });
    await json('sentence_bert_config.json', { max_seq_length: o.maxPosition, do_lower_case: false });
    await json('config_sentence_transformers.json', {
      model_type: o.kind === 'mlm' ? 'SparseEncoder' : 'SentenceTransformer',
      __version__: { sentence_transformers: '5.0.0' },
      prompts: {},
      default_prompt_name: null,
      similarity_fn_name: o.kind === 'mlm' ? 'dot' : 'cosine',
    });
    if (o.kind === 'mlm') {
      await json('modules.json', [
        { idx: 0, name: '0', path: '', type: 'sentence_transformers.sparse_encoder.models.MLMTransformer' },
        { idx: 1, name: '1', path: '1_SpladePooling', type: 'sentence_transformers.sparse_encoder.models.SpladePooling' },
      ]);
      await fs.mkdir(join(dir, '1_SpladePooling'));
      await json('1_SpladePooling/config.json', {
        pooling_strategy: 'max', activation_function: 'relu', word_embedding_dimension: o.vocab.length,
      });
    } else {
      await json('modules.json', [
        { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
        { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
        { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
      ]);
      await fs.mkdir(join(dir, '1_Pooling'));
      await fs.mkdir(join(dir, '2_Normalize'));
      await json('1_Pooling/config.json', { word_embedding_dimension: o.hidden, pooling_mode_mean_tokens: true });
    }
  }, { kind: 'model', force: o.force, inputs: o.inputs });
}

/** Reads one or more vocab.txt files (or tokenizer folders holding one) and merges them in order,
 *  dropping repeated tokens: a multilingual bridge vocabulary from several monolingual ones. */
export async function readMergedVocab(paths: string[]): Promise<string[]> {
  const seen = new Set<string>();
  const merged: string[] = [];
  for (const p of paths) {
    const file = (await fs.stat(p)).isDirectory() ? join(p, 'vocab.txt') : p;
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      throw new SemBridgeError(`cannot read vocabulary: ${(err as Error).message}`, file);
    }
    for (const token of parseVocabTxt(text)) {
      if (!seen.has(token)) {
        seen.add(token);
        merged.push(token);
      }
    }
  }
  if (merged.length === 0) throw new SemBridgeError('the vocabulary is empty', paths.join(', '));
  return merged;
}
