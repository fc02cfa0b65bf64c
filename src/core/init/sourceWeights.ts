// The vocabulary-sized weights of a source masked-LM: the input embedding table, the MLM decoder
// weight when it is NOT tied to the table, and the MLM output bias. Read from the checkpoint
// (model.safetensors or pytorch_model.bin, see io/checkpoint) when the folder has one (tensors found
// by shape, names only break ties), else from the ONNX graph.
import { SemBridgeError } from '../errors';
import { openCheckpoint } from '../io/checkpoint';
import type { TensorInfo } from '../io/safetensors';
import type { HfModelFolder } from '../model/hfFolder';
import { findVocabTensors, loadOnnxModel, readDecoderBias, readDecoderMatrix, readEmbeddingMatrix } from '../onnx';
import type { Matrix } from '../types';

export interface SourceWeights {
  embeddings: Matrix;
  /** present only when the decoder differs from the embedding table (untied) */
  decoder?: Matrix;
  bias?: Float32Array;
  /** where they were read from */
  origin: 'safetensors' | 'onnx';
  file: string;
  /** safetensors tensor names by role, to replace them when writing */
  names?: { embedding: string; decoder?: string; biases: string[] };
}

function sameData(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Finds the vocabulary-sized tensors in a safetensors header. */
export function classifySafetensors(
  tensors: Map<string, TensorInfo>,
  vocabSize: number,
  hidden: number | undefined,
  file: string,
): { embedding: string; decoder?: string; biases: string[] } {
  const matrices = [...tensors.values()].filter((t) => t.shape.length === 2 && t.shape[0] === vocabSize && (!hidden || t.shape[1] === hidden));
  const biases = [...tensors.values()].filter((t) => t.shape.length === 1 && t.shape[0] === vocabSize).map((t) => t.name);
  const embedding = matrices.find((t) => /word_embeddings|embed_tokens|wte|shared/.test(t.name)) ?? matrices[0];
  if (!embedding)
    throw new SemBridgeError(
      `has no word-embedding tensor of shape [${vocabSize}, ${hidden ?? 'hidden'}] (config.json vocab_size ${vocabSize}); is this the model's own weights file?`,
      file,
    );
  const decoder = matrices.find((t) => t !== embedding && /decoder|lm_head|vocab_projector|predictions/.test(t.name)) ?? matrices.find((t) => t !== embedding);
  return { embedding: embedding.name, decoder: decoder?.name, biases };
}

export async function readSourceWeights(folder: HfModelFolder): Promise<SourceWeights> {
  const checkpoint = folder.files.checkpoint;
  if (checkpoint && folder.vocabSize) {
    const reader = await openCheckpoint(checkpoint);
    try {
      const names = classifySafetensors(reader.header.tensors, folder.vocabSize, folder.hiddenSize, checkpoint);
      const embeddings = await reader.readMatrix(names.embedding);
      let decoder: Matrix | undefined;
      if (names.decoder) {
        const d = await reader.readMatrix(names.decoder, { rows: embeddings.rows, cols: embeddings.cols });
        if (!sameData(d.data, embeddings.data)) decoder = d;
      }
      const bias = names.biases.length ? await reader.readFloat32(names.biases[0]) : undefined;
      return { embeddings, decoder, bias, origin: 'safetensors', file: checkpoint, names };
    } finally {
      await reader.close();
    }
  }
  if (!folder.files.onnx)
    throw new SemBridgeError('has neither model.safetensors nor onnx/model.onnx, so there are no embeddings to transfer', folder.dir);
  const model = loadOnnxModel(folder.files.onnx);
  const vt = findVocabTensors(model);
  const embeddings = readEmbeddingMatrix(model, vt);
  const d = readDecoderMatrix(model, vt);
  const decoder = d && !sameData(d.data, embeddings.data) ? d : undefined;
  return { embeddings, decoder, bias: readDecoderBias(model, vt), origin: 'onnx', file: folder.files.onnx };
}
