// Opening a local Hugging Face model folder for inference: `onnx/model.onnx` when present, else a
// graph built from config.json + model.safetensors (see buildFromConfig.ts).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { SemBridgeError } from '../errors';
import { loadOrt } from '../ort';
import { findCheckpoint } from '../io/checkpoint';
import { buildOnnxFromConfig, type ModelHead } from './buildFromConfig';
import { encodeOnnxModel, externalDataFiles, loadOnnxModel, saveOnnxModel, tensorDataBytes, type OnnxModel } from './modelIO';

export interface LoadedModel {
  /** where the graph came from */
  origin: 'onnx' | 'safetensors';
  /** onnx/model.onnx, or the model.safetensors the graph was built from */
  file: string;
  model: OnnxModel;
  /** graph input names in order, e.g. ['input_ids', 'attention_mask', 'token_type_ids'] */
  inputNames: string[];
  /** graph output names, e.g. ['logits'] */
  outputNames: string[];
}

export interface LoadModelOptions {
  /** for a graph built from safetensors: 'mlm' (default) or 'encoder' */
  head?: ModelHead;
}

export function onnxPathOf(modelDir: string): string {
  return join(modelDir, 'onnx', 'model.onnx');
}

/** Loads `onnx/model.onnx` when present, else builds the graph from config.json + model.safetensors. */
export async function loadModelGraph(modelDir: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  if (!existsSync(modelDir)) throw new SemBridgeError('model folder not found', modelDir);
  const onnxPath = onnxPathOf(modelDir);
  let model: OnnxModel;
  let origin: LoadedModel['origin'];
  let file: string;
  if (existsSync(onnxPath)) {
    model = loadOnnxModel(onnxPath);
    origin = 'onnx';
    file = onnxPath;
  } else {
    model = await buildOnnxFromConfig(modelDir, { head: opts.head });
    origin = 'safetensors';
    file = findCheckpoint(modelDir) ?? join(modelDir, 'model.safetensors');
  }
  const g = model.proto.graph ?? {};
  const initNames = new Set((g.initializer ?? []).map((t) => t.name));
  return {
    origin,
    file,
    model,
    // older exporters list initializers among the inputs
    inputNames: (g.input ?? []).map((i) => i.name ?? '').filter((n) => !initNames.has(n)),
    outputNames: (g.output ?? []).map((o) => o.name ?? ''),
  };
}

/** Tensor bytes above which createSession hands the model to onnxruntime through a temporary file. */
export const IN_MEMORY_SESSION_MAX_BYTES = 64 * 1024 * 1024;

/**
 * An onnxruntime-node session for an in-memory model. A large model is not encoded into one buffer
 * (a second copy of every weight): it is streamed to a temporary folder with external data, which
 * onnxruntime maps instead of reading into its own copy. The folder is removed at once where a
 * mapped file can be unlinked (POSIX), else when the session is released.
 */
export async function createSession(
  model: OnnxModel,
  options: InferenceSession.SessionOptions = {},
  /** tensor bytes above which the model goes through a temporary file (tests lower it) */
  viaFileAbove = IN_MEMORY_SESSION_MAX_BYTES,
): Promise<InferenceSession> {
  const ort = loadOrt();
  const opts: InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', ...options };
  try {
    if (externalDataFiles(model).length && tensorDataBytes(model.proto) <= viaFileAbove) {
      // tensors still on disk (loadOnnxModel's keepExternalData) stay there: the graph goes over as
      // bytes and onnxruntime reads (maps) the data files from the model's own folder, no copy made
      const extra = (opts.extra ?? {}) as Record<string, Record<string, unknown>>;
      const folder = { model_external_initializers_file_folder_path: dirname(resolve(model.source)) };
      return await ort.InferenceSession.create(encodeOnnxModel(model), { ...opts, extra: { ...extra, session: { ...extra.session, ...folder } } });
    }
    if (tensorDataBytes(model.proto) <= viaFileAbove) return await ort.InferenceSession.create(encodeOnnxModel(model), opts);
    const dir = await mkdtemp(join(tmpdir(), 'sembridge-onnx-'));
    const removeDir = () => rm(dir, { recursive: true, force: true }).catch(() => undefined);
    let session: InferenceSession;
    try {
      await saveOnnxModel(model, join(dir, 'model.onnx'), { externalData: true });
      session = await ort.InferenceSession.create(join(dir, 'model.onnx'), opts);
    } catch (err) {
      await removeDir();
      throw err;
    }
    if (process.platform !== 'win32') await removeDir();
    else {
      const release = session.release.bind(session);
      session.release = async () => {
        try {
          await release();
        } finally {
          await removeDir();
        }
      };
    }
    return session;
  } catch (err) {
    if (err instanceof SemBridgeError) throw err;
    throw new SemBridgeError(`onnxruntime could not load the model: ${(err as Error).message}`, model.source);
  }
}

export interface InferenceModel extends LoadedModel {
  session: InferenceSession;
}

/**
 * Opens a model folder for inference. An ONNX file is handed to onnxruntime by path (so its
 * external data stays on disk); a built graph is handed over in memory.
 */
export async function loadModelForInference(modelDir: string, opts: LoadModelOptions = {}): Promise<InferenceModel> {
  const loaded = await loadModelGraph(modelDir, opts);
  let session: InferenceSession;
  if (loaded.origin === 'onnx') {
    try {
      session = await loadOrt().InferenceSession.create(loaded.file, { graphOptimizationLevel: 'all' });
    } catch (err) {
      throw new SemBridgeError(`onnxruntime could not load the model: ${(err as Error).message}`, loaded.file);
    }
  } else session = await createSession(loaded.model);
  return { ...loaded, session };
}
