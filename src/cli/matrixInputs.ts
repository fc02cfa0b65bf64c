// Checks of `sembridge reconstruct`'s input file that belong to the CLI: every header check before
// any tensor data is read (inputs can be GBs), and core errors renamed to the file and its tensors.
import { SemBridgeError } from '../core/errors';
import type { SafetensorsReader } from '../core/io/safetensors';

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);
const INT_DTYPES = new Set(['I8', 'I16', 'I32', 'I64', 'U8', 'U16', 'U32', 'U64']);

/** Every shape and dtype check the header allows, before any tensor data is read (inputs can be GBs). */
export function checkInputHeader(reader: SafetensorsReader, path: string): void {
  const bad = (name: string, what: string) => new SemBridgeError(`tensor '${name}': ${what}`, path);
  const matrix = (name: string): number[] => {
    const { shape, dtype } = reader.info(name);
    if (shape.length !== 2) throw new SemBridgeError(`tensor '${name}' must be 2-D, but its shape is [${shape.join(', ')}]`, path);
    if (!FLOAT_DTYPES.has(dtype)) throw new SemBridgeError(`tensor '${name}' has dtype ${dtype}; a floating-point tensor (F32, F16, BF16, F64) is needed`, path);
    return shape;
  };
  const [vs, d] = matrix('source_embeddings');
  const [sbRows, db] = matrix('source_bridge');
  if (sbRows !== vs) throw bad('source_bridge', `has ${sbRows} rows but source_embeddings has ${vs} (one bridge vector per source token)`);
  const [, tbCols] = matrix('target_bridge');
  if (tbCols !== db) throw bad('target_bridge', `has dimension ${tbCols} but source_bridge has ${db}`);
  if (reader.has('source_decoder')) {
    const [r, c] = matrix('source_decoder');
    if (r !== vs || c !== d) throw bad('source_decoder', `shape [${r}, ${c}] must be [${vs}, ${d}] like source_embeddings`);
  }
  if (reader.has('source_bias')) {
    const { shape, dtype } = reader.info('source_bias');
    if (shape.length !== 1 || shape[0] !== vs) throw bad('source_bias', `shape [${shape.join(', ')}] must be [${vs}]`);
    if (!FLOAT_DTYPES.has(dtype)) throw bad('source_bias', `has dtype ${dtype}; a floating-point tensor is needed`);
  }
  for (const name of ['candidate_source_ids', 'overlap_source_ids']) {
    if (!reader.has(name)) continue;
    const { shape, dtype } = reader.info(name);
    if (shape.length !== 1) throw bad(name, `must be 1-D, but its shape is [${shape.join(', ')}]`);
    if (!INT_DTYPES.has(dtype)) throw bad(name, `has dtype ${dtype}; an integer tensor is needed`);
  }
}

const TENSOR_OF_INPUT: Record<string, string> = {
  sourceBridge: 'source_bridge',
  targetBridge: 'target_bridge',
  sourceEmbeddings: 'source_embeddings',
  sourceDecoder: 'source_decoder',
  sourceBias: 'source_bias',
  candidateSourceIds: 'candidate_source_ids',
  overlapSourceIds: 'overlap_source_ids',
};

/** The core names its inputs (sourceBridge, …); the user knows the file and its tensor names. */
export function withInputFile(err: unknown, path: string): unknown {
  if (!(err instanceof SemBridgeError) || !err.subject || !(err.subject in TENSOR_OF_INPUT)) return err;
  const message = err.message.slice(err.subject.length + 2).replace(/candidateSourceIds/g, 'candidate_source_ids');
  return new SemBridgeError(`tensor '${TENSOR_OF_INPUT[err.subject]}': ${message}`, path);
}
