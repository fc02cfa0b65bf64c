// Where a bridge model's pooling comes from. sentence-transformers falls back to mean pooling when a
// folder has no modules.json; for a bridge that is a silent guess (bge-m3/onnx/ would become mean
// pooling, while bge-m3 is CLS + normalise), so here the pooling must be declared: by the folder's
// sentence-transformers files, by its parent's (the Hub layout with onnx/ inside the model folder),
// or by the user. Otherwise the bridge is refused. A masked-LM folder is refused too unless allowed:
// its vocabulary logits are not a string embedding.
import { basename, dirname, join, resolve } from 'node:path';
import { SemBridgeError } from '../errors';
import { pathExists } from '../fsUtil';
import { inspectModelFolder, type DensePooling, type HfModelFolder } from '../model/hfFolder';

export const BRIDGE_POOLING_MODES = ['cls', 'mean', 'lasttoken'] as const;
export type BridgePoolingMode = (typeof BRIDGE_POOLING_MODES)[number];

/** What the user said about the bridge (CLI options / extension setting). Plain JSON. */
export interface BridgePoolingRequest {
  /** used only when neither the folder nor its parent declares the pooling */
  pooling?: BridgePoolingMode;
  /** L2-normalise with `pooling` (default DEFAULT_BRIDGE_NORMALIZE) */
  normalize?: boolean;
  /** accept a masked-LM / sparse-encoder folder as the bridge */
  allowMlm?: boolean;
}

/** Most multilingual embedding models normalise (bge-m3, multilingual-e5, gte, Qwen3-Embedding). */
export const DEFAULT_BRIDGE_NORMALIZE = true;

export type BridgePoolingSource = 'modules.json' | 'parent modules.json' | '--bridge-pooling';

export interface ResolvedBridgePooling extends DensePooling {
  from: BridgePoolingSource;
  /** the modules.json that declared it */
  file?: string;
  /** an option the files overrode, said in the report's warnings */
  ignored?: string;
}

const describe = (mode: string, normalize: boolean): string => `${mode}${normalize ? ' + Normalize' : ', no Normalize'}`;

/** The cache-key / log form: 'cls+norm', 'mean'. */
export function poolingKey(p: DensePooling): string {
  return `${p.mode}${p.normalize ? '+norm' : ''}`;
}

/**
 * The pooling and normalisation of a bridge folder: its modules.json, else (for a folder named
 * `onnx`) the parent folder's modules.json, else `req.pooling`. Throws a one-line SemBridgeError
 * naming the files looked for when none of them says.
 */
export async function resolveBridgePooling(folder: HfModelFolder, req: BridgePoolingRequest = {}): Promise<ResolvedBridgePooling> {
  if (req.pooling !== undefined && !(BRIDGE_POOLING_MODES as readonly string[]).includes(req.pooling))
    throw new SemBridgeError(`must be one of ${BRIDGE_POOLING_MODES.join(', ')}, got '${req.pooling}'`, '--bridge-pooling');
  const looked: string[] = [];
  const state = (f: HfModelFolder): string => `${join(f.dir, 'modules.json')} (${f.files.modulesJson ? 'no Pooling module' : 'missing'})`;
  let found: ResolvedBridgePooling | undefined;
  if (folder.densePooling) found = { ...folder.densePooling, from: 'modules.json', file: folder.files.modulesJson };
  else looked.push(state(folder));

  const dir = resolve(folder.dir);
  if (!found && basename(dir) === 'onnx') {
    const parentDir = dirname(dir);
    if (await pathExists(join(parentDir, 'modules.json'))) {
      const parent = await inspectModelFolder(parentDir);
      if (parent.densePooling) {
        // the parent must describe this same network, not a neighbouring model
        if (parent.hiddenSize && folder.hiddenSize && parent.hiddenSize !== folder.hiddenSize)
          throw new SemBridgeError(
            `the parent folder's modules.json belongs to another model (hidden size ${parent.hiddenSize}, this folder's config.json says ${folder.hiddenSize}); give --bridge-pooling`,
            folder.dir,
          );
        found = { ...parent.densePooling, from: 'parent modules.json', file: parent.files.modulesJson };
      } else looked.push(state(parent));
    } else looked.push(`${join(parentDir, 'modules.json')} (missing)`);
  }

  if (found) {
    const wanted = req.pooling ?? found.mode;
    const wantedNorm = req.normalize ?? (req.pooling ? DEFAULT_BRIDGE_NORMALIZE : found.normalize);
    if ((req.pooling !== undefined || req.normalize !== undefined) && (wanted !== found.mode || wantedNorm !== found.normalize))
      found.ignored = `--bridge-pooling ${describe(wanted, wantedNorm)} ignored: ${found.file} declares ${describe(found.mode, found.normalize)}`;
    return found;
  }
  if (req.pooling)
    return { mode: req.pooling, normalize: req.normalize ?? DEFAULT_BRIDGE_NORMALIZE, origin: 'option', from: '--bridge-pooling' };
  throw new SemBridgeError(
    `the bridge's pooling is not declared (looked for ${looked.join(', ')}); give --bridge-pooling ${BRIDGE_POOLING_MODES.join('|')} (setting sembridge.bridgePooling)`,
    folder.dir,
  );
}

/** Why a folder is a masked-LM (or sparse) model rather than a string embedder, or undefined. */
export function maskedLmReason(folder: HfModelFolder, onnxOutputs?: readonly string[]): string | undefined {
  const arch = folder.architectures.find((a) => /For(MaskedLM|PreTraining)$/.test(a));
  if (arch) return `config.json architecture ${arch}`;
  if (folder.spladePooling) return `a ${folder.spladePooling.path} module (a sparse encoder)`;
  if (folder.stModelType === 'SparseEncoder') return 'config_sentence_transformers.json model_type SparseEncoder';
  if (onnxOutputs?.includes('logits') && !onnxOutputs.includes('last_hidden_state') && !onnxOutputs.includes('token_embeddings'))
    return "its ONNX graph outputs 'logits' (vocabulary scores), not token states";
  return undefined;
}

/** Refuses a masked-LM folder as the bridge unless `req.allowMlm`; returns the reason when allowed. */
export function checkNotMaskedLm(folder: HfModelFolder, req: BridgePoolingRequest = {}, onnxOutputs?: readonly string[]): string | undefined {
  const why = maskedLmReason(folder, onnxOutputs);
  if (why && !req.allowMlm)
    throw new SemBridgeError(
      `is a masked-LM model (${why}), not a sentence-embedding model; a bridge embeds strings (e.g. bge-m3, multilingual-e5); --bridge-allow-mlm uses it anyway`,
      folder.dir,
    );
  return why;
}

/**
 * The request that reproduces a transfer's bridge from its report.json `inputs.bridge`, so a
 * folder whose pooling was given by option is prepared again the same way.
 */
export function poolingRequestFromReport(bridge: unknown): BridgePoolingRequest {
  const b = (bridge ?? {}) as { pooling?: { mode?: unknown; normalize?: unknown; from?: unknown }; mlm?: unknown };
  const req: BridgePoolingRequest = {};
  const p = b.pooling;
  if (p && typeof p === 'object' && p.from === '--bridge-pooling' && (BRIDGE_POOLING_MODES as readonly unknown[]).includes(p.mode)) {
    req.pooling = p.mode as BridgePoolingMode;
    if (typeof p.normalize === 'boolean') req.normalize = p.normalize;
  }
  if (typeof b.mlm === 'string') req.allowMlm = true;
  return req;
}
