// Inference-free ("doc-only") sparse encoders: a sentence-transformers Router whose query route is
// one static weight per vocabulary token (SparseStaticEmbedding; older copies call the module IDF and
// also ship the table as idf.json) and whose document route is the MLM + SpladePooling.
//
// Layouts read:
//   - what sentence-transformers writes: modules.json = [Router], router_config.json, the MLM in
//     document_0_Transformer/ (or document_0_MLMTransformer/), query_0_SparseStaticEmbedding/
//     {tokenizer, model.safetensors 'weight' [V]}, document_1_SpladePooling/config.json;
//   - the OpenSearch copies: the MLM at the folder root (the document module's folder is absent),
//     query_0_IDF/, and the table in idf.json ({token: weight}).
// A query is encoded as the weight of every distinct token it contains (no special tokens added),
// exactly as SparseStaticEmbedding.forward does: presence(token) * weight[token].
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { SemBridgeError } from '../errors';
import { firstNonFinite } from '../finite';
import { pathExists, readJsonFile } from '../fsUtil';
import { withSafetensors } from '../io/safetensors';
import type { SparseVector, TokenMapping } from '../types';

export const ROUTER_CONFIG = 'router_config.json';
export const LEGACY_IDF_JSON = 'idf.json';

export interface RouterModule {
  /** the module id in router_config.json, also its folder name */
  id: string;
  type: string;
  /** absolute folder of the module */
  dir: string;
}

export interface RouterLayout {
  rootDir: string;
  configFile: string;
  query: {
    module: RouterModule;
    /** 'static' = SparseStaticEmbedding, 'idf' = the older IDF module */
    kind: 'static' | 'idf';
    /** the module's model.safetensors (tensor 'weight'), when present */
    weightsFile?: string;
    /** idf.json ({token: weight}) when the module has no weights file */
    idfJson?: string;
    /** where the query tokenizer lives (the module folder, else the MLM folder) */
    tokenizerDir: string;
    frozen: boolean;
  };
  document: {
    transformer: RouterModule;
    /** where config.json / weights / tokenizer of the MLM are: the module folder, or the root */
    mlmDir: string;
    pooling: RouterModule;
  };
  defaultRoute: string;
}

const typeName = (t: string): string => t.split('.').pop() ?? t;

/** Whether a modules.json entry is a Router (its old name: Asym). */
export function isRouterType(type: string): boolean {
  return /^(Router|Asym)$/.test(typeName(type));
}

function routeModules(cfg: Record<string, unknown>, file: string, route: 'query' | 'document'): string[] {
  const structure = cfg.structure as Record<string, unknown> | undefined;
  if (!structure || typeof structure !== 'object') throw new SemBridgeError('has no "structure" object', file);
  let key: string = route;
  if (!(key in structure)) {
    // route_mappings like "('query', None)": "q" or "('query', 'text')": "q"
    const mappings = ((cfg.parameters as Record<string, unknown> | undefined)?.route_mappings ?? {}) as Record<string, unknown>;
    const hit = Object.entries(mappings).find(([k]) => new RegExp(`^\\(\\s*['"]${route}['"]\\s*,\\s*(None|['"]text['"])\\s*\\)$`).test(k));
    if (hit && typeof hit[1] === 'string') key = hit[1];
  }
  const ids = structure[key];
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== 'string'))
    throw new SemBridgeError(`has no "${route}" route in "structure" (routes: ${Object.keys(structure).join(', ') || 'none'})`, file);
  return ids as string[];
}

/**
 * Reads router_config.json of an inference-free sparse encoder. Refuses, naming the file, any
 * Router that is not query = [SparseStaticEmbedding | IDF], document = [(MLM)Transformer, SpladePooling].
 */
export async function readRouterLayout(rootDir: string): Promise<RouterLayout> {
  const configFile = join(rootDir, ROUTER_CONFIG);
  if (!(await pathExists(configFile))) throw new SemBridgeError(`modules.json declares a Router but ${ROUTER_CONFIG} is missing`, rootDir);
  const cfg = await readJsonFile(configFile);
  const types = (cfg.types ?? {}) as Record<string, unknown>;
  const moduleOf = (id: string): RouterModule => {
    const type = types[id];
    if (typeof type !== 'string') throw new SemBridgeError(`module "${id}" has no entry in "types"`, configFile);
    return { id, type, dir: join(rootDir, id) };
  };
  const q = routeModules(cfg, configFile, 'query').map(moduleOf);
  const d = routeModules(cfg, configFile, 'document').map(moduleOf);
  const qName = typeName(q[0].type);
  if (q.length !== 1 || (qName !== 'SparseStaticEmbedding' && qName !== 'IDF'))
    throw new SemBridgeError(
      `the query route is [${q.map((m) => typeName(m.type)).join(', ')}]; only inference-free routers (one SparseStaticEmbedding or IDF module) are supported`,
      configFile,
    );
  if (d.length !== 2 || !/Transformer$/.test(typeName(d[0].type)) || !/SpladePooling$/.test(typeName(d[1].type)))
    throw new SemBridgeError(
      `the document route is [${d.map((m) => typeName(m.type)).join(', ')}]; expected [MLMTransformer or Transformer, SpladePooling]`,
      configFile,
    );

  // The MLM: in its module folder (what sentence-transformers writes) or at the root (OpenSearch copies).
  const transformer = d[0];
  let mlmDir: string;
  if (await pathExists(join(transformer.dir, 'config.json'))) mlmDir = transformer.dir;
  else if (await pathExists(join(rootDir, 'config.json'))) mlmDir = rootDir;
  else throw new SemBridgeError(`the document model has no config.json, neither in ${transformer.id}/ nor at the folder root`, rootDir);

  const qm = q[0];
  const qConfigPath = join(qm.dir, 'config.json');
  const qConfig = (await pathExists(qConfigPath)) ? await readJsonFile(qConfigPath) : {};
  const weightsFile = (await pathExists(join(qm.dir, 'model.safetensors'))) ? join(qm.dir, 'model.safetensors') : undefined;
  let idfJson: string | undefined;
  if (!weightsFile) {
    // SparseStaticEmbedding's config may name the table ("path": "idf.json"); else the module folder, else the root
    const named = typeof qConfig.path === 'string' && qConfig.path.endsWith('.json') ? [join(qm.dir, qConfig.path), join(rootDir, qConfig.path)] : [];
    for (const p of [...named, join(qm.dir, LEGACY_IDF_JSON), join(rootDir, LEGACY_IDF_JSON)])
      if (await pathExists(p)) {
        idfJson = p;
        break;
      }
    if (!idfJson) {
      const bin = (await pathExists(join(qm.dir, 'pytorch_model.bin'))) ? ' (it has only pytorch_model.bin; convert it to model.safetensors)' : '';
      throw new SemBridgeError(`the query module has neither model.safetensors nor an ${LEGACY_IDF_JSON}${bin}`, qm.dir);
    }
  }
  const hasTokenizer = (await pathExists(join(qm.dir, 'tokenizer.json'))) || (await pathExists(join(qm.dir, 'vocab.txt')));
  const params = (cfg.parameters ?? {}) as Record<string, unknown>;
  return {
    rootDir,
    configFile,
    query: {
      module: qm,
      kind: qName === 'IDF' ? 'idf' : 'static',
      weightsFile,
      idfJson,
      tokenizerDir: hasTokenizer ? qm.dir : mlmDir,
      frozen: qConfig.frozen !== false,
    },
    document: { transformer, mlmDir, pooling: d[1] },
    defaultRoute: typeof params.default_route === 'string' ? params.default_route : 'document',
  };
}

/** The folder holding a model's MLM: the Router's document model, else the folder itself. */
export async function documentModelDir(dir: string): Promise<string> {
  if (!(await pathExists(join(dir, ROUTER_CONFIG))) || !(await pathExists(join(dir, 'modules.json')))) return dir;
  const modules = await readJsonFile<{ type?: string }[]>(join(dir, 'modules.json'));
  if (!Array.isArray(modules) || !modules.some((m) => typeof m.type === 'string' && isRouterType(m.type))) return dir;
  return (await readRouterLayout(dir)).document.mlmDir;
}

/**
 * The query weights, one per vocabulary id (length `vocabSize`). From the module's safetensors
 * (tensor 'weight'), or from idf.json through `tokenToId` (tokens the vocabulary lacks are counted).
 */
export async function readQueryWeights(
  layout: RouterLayout,
  vocabSize: number,
  tokenToId: (token: string) => number | undefined,
): Promise<{ weights: Float32Array; file: string; unknownTokens: number }> {
  if (layout.query.weightsFile) {
    const file = layout.query.weightsFile;
    const w = await withSafetensors(file, async (r) => {
      if (!r.has('weight')) throw new SemBridgeError(`has no tensor "weight" (tensors: ${[...r.header.tensors.keys()].join(', ')})`, file);
      const shape = r.info('weight').shape;
      if (shape.length !== 1) throw new SemBridgeError(`tensor "weight" has shape [${shape}], expected [vocabulary size]`, file);
      return r.readFloat32('weight');
    });
    if (w.length !== vocabSize)
      throw new SemBridgeError(`tensor "weight" has ${w.length} entries but the document model has ${vocabSize} outputs`, file);
    checkFinite(w, file);
    return { weights: w, file, unknownTokens: 0 };
  }
  const file = layout.query.idfJson!;
  const table = await readJsonFile<Record<string, unknown>>(file);
  if (!table || typeof table !== 'object' || Array.isArray(table)) throw new SemBridgeError('must hold a JSON object {token: weight}', file);
  const w = new Float32Array(vocabSize);
  let unknownTokens = 0;
  for (const [token, v] of Object.entries(table)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SemBridgeError(`the weight of "${token}" is not a finite number`, file);
    const id = tokenToId(token);
    if (id === undefined || id >= vocabSize) unknownTokens++;
    else w[id] = v;
  }
  return { weights: w, file, unknownTokens };
}

function checkFinite(w: Float32Array, file: string): void {
  const i = firstNonFinite(w);
  if (i >= 0) throw new SemBridgeError(`query weight ${i} is not finite`, file);
}

/** SparseStaticEmbedding: every distinct token id of a query gets its weight; ids ascending, weights > 0. */
export function staticQueryVector(ids: readonly number[], weights: Float32Array): SparseVector {
  const present = [...new Set(ids)].filter((id) => id >= 0 && id < weights.length && weights[id] > 0).sort((a, b) => a - b);
  return { ids: Uint32Array.from(present), weights: Float32Array.from(present, (id) => weights[id]) };
}

export type QueryWeightRule = 'copied' | 'bridged' | 'fallback';

export interface MappedQueryWeights {
  weights: Float32Array;
  counts: Record<QueryWeightRule, number>;
  /** the value fallback tokens got */
  fallbackValue: number;
}

/** Median of the strictly positive entries (0 when there are none): a typical token's weight. */
export function medianPositive(w: Float32Array): number {
  const pos = Array.from(w).filter((x) => x > 0).sort((a, b) => a - b);
  if (!pos.length) return 0;
  const m = pos.length >> 1;
  return pos.length % 2 ? pos[m] : (pos[m - 1] + pos[m]) / 2;
}

/**
 * The query weights of the target vocabulary, by the same mapping as the embedding rows:
 * a copied token keeps its source's weight; a bridged token gets Σ_k w_k · weight[s_k] over its
 * entmax sources (the same convex combination that built its embedding, decoder row and bias);
 * a token without sources (fallback rows, sampled baselines) gets the median positive source weight.
 * A line that lists fewer sources than its support (mapping.jsonl keeps the heaviest
 * MAPPING_MAX_SOURCES) gets the weighted mean over the listed ones (their weights renormalised).
 * `mapping` may be streamed; `size` (default: its length) is the target vocabulary.
 */
export function mapQueryWeights(mapping: Iterable<TokenMapping>, source: Float32Array, size = (mapping as readonly TokenMapping[]).length): MappedQueryWeights {
  const out = new Float32Array(size);
  const counts: Record<QueryWeightRule, number> = { copied: 0, bridged: 0, fallback: 0 };
  const fallbackValue = medianPositive(source);
  for (const m of mapping) {
    if (m.match === 'bridged' && m.sources.length) {
      let acc = 0;
      let sum = 0;
      for (const s of m.sources) {
        acc += s.weight * source[s.id];
        sum += s.weight;
      }
      out[m.id] = m.support > m.sources.length && sum > 0 ? acc / sum : acc;
      counts.bridged++;
    } else if (m.match !== 'bridged' && m.match !== 'fallback' && m.sources.length === 1 && m.sources[0].id >= 0) {
      out[m.id] = source[m.sources[0].id];
      counts.copied++;
    } else {
      out[m.id] = fallbackValue;
      counts.fallback++;
    }
  }
  return { weights: out, counts, fallbackValue };
}

/**
 * IDF over a corpus, in BM25's (Lucene's) form: idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5)),
 * df(t) = number of documents whose token ids (no special tokens added) contain t. Special tokens get 0.
 */
export function idfFromTokenIds(docs: Iterable<readonly number[]>, vocabSize: number, specialIds: ReadonlySet<number>): { weights: Float32Array; documents: number } {
  const df = new Float64Array(vocabSize);
  let n = 0;
  for (const ids of docs) {
    n++;
    for (const id of new Set(ids)) if (id >= 0 && id < vocabSize) df[id]++;
  }
  const w = new Float32Array(vocabSize);
  for (let t = 0; t < vocabSize; t++) w[t] = specialIds.has(t) ? 0 : Math.log1p((n - df[t] + 0.5) / (df[t] + 0.5));
  return { weights: w, documents: n };
}

/** idf.json content ({token: weight} for the non-zero weights), as the older layout ships it. */
export function idfJsonOf(vocab: readonly string[], weights: Float32Array): string {
  const obj: Record<string, number> = {};
  for (let i = 0; i < weights.length; i++) if (weights[i] !== 0 && vocab[i] !== undefined && !(vocab[i] in obj)) obj[vocab[i]] = weights[i];
  return JSON.stringify(obj) + '\n';
}

/** Every file of the query route (hashed with the model, so an index notices a changed table). */
export async function routerFiles(layout: RouterLayout): Promise<string[]> {
  const out = [layout.configFile];
  if (layout.query.weightsFile) out.push(layout.query.weightsFile);
  if (layout.query.idfJson) out.push(layout.query.idfJson);
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) {
    const p = join(layout.query.module.dir, name);
    if (await pathExists(p)) out.push(p);
  }
  const pool = join(layout.document.pooling.dir, 'config.json');
  if (await pathExists(pool)) out.push(pool);
  return out;
}

/** Text lines of a file, or undefined when it is not a plain .txt file (used by --idf-from-corpus). */
export async function readTextLines(path: string): Promise<string[] | undefined> {
  if (!path.endsWith('.txt')) return undefined;
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw new SemBridgeError(`cannot read: ${(err as Error).message}`, path);
  }
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}
