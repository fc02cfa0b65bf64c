// The mapping of a transferred model (sembridge/mapping.jsonl) in a compact, typed-array form.
// It is parsed in a worker, its arrays are transferred to the extension host, and the host keeps
// it for the hover (which must answer from memory in a few ms) and the inspector's mapping view
// (which pages through up to ~250k rows). Pure: no `vscode`, no Node I/O.
import type { MatchType, TokenMapping } from '../../core/types';
import { SemBridgeError, throwIfCancelled } from '../../core/errors';
import type { CancelSignal, ProgressSink } from '../../core/types';
import {
  MATCH_TYPES,
  type MappingPage,
  type MappingQuery,
  type MappingRow,
  type SourceWeight,
  type SupportHistogram,
} from '../../protocol/inspectorProtocol';

/** `match` code of a target id that has no line in the file */
export const NO_LINE = 255;

export interface CompactMapping {
  /** max target id + 1 */
  size: number;
  /** number of lines read */
  lines: number;
  tokens: string[];
  /** index into MATCH_TYPES, or NO_LINE */
  match: Uint8Array;
  support: Uint32Array;
  /** CSR offsets into the source arrays, length size + 1; sources sorted by weight, descending */
  offsets: Uint32Array;
  sourceIds: Uint32Array;
  weights: Float32Array;
  cosines: Float32Array;
  /** source token strings by source id ('' for ids never seen) */
  sourceTokens: string[];
  /** the token's own α (mapping.jsonl "alpha", written by `--alpha auto`); NaN where the line has none */
  alphas: Float32Array;
}

const MATCH_CODE = new Map<string, number>(MATCH_TYPES.map((m, i) => [m, i]));

function validateLine(x: unknown, where: string): TokenMapping {
  const o = x as Partial<TokenMapping>;
  if (typeof o !== 'object' || o === null) throw new SemBridgeError('line is not a JSON object', where);
  if (!Number.isInteger(o.id) || (o.id as number) < 0) throw new SemBridgeError('"id" must be a non-negative integer', where);
  if (typeof o.token !== 'string') throw new SemBridgeError('"token" must be a string', where);
  if (typeof o.match !== 'string' || !MATCH_CODE.has(o.match)) throw new SemBridgeError(`"match" must be one of ${MATCH_TYPES.join(', ')}`, where);
  if (!Array.isArray(o.sources)) throw new SemBridgeError('"sources" must be an array', where);
  if (o.alpha !== undefined && !(typeof o.alpha === 'number' && o.alpha > 1 && Number.isFinite(o.alpha))) throw new SemBridgeError('"alpha" must be a number > 1', where);
  for (const s of o.sources) {
    if (!s || !Number.isInteger(s.id) || typeof s.token !== 'string' || typeof s.weight !== 'number' || typeof s.cosine !== 'number')
      throw new SemBridgeError('each source needs integer "id", string "token", numeric "weight" and "cosine"', where);
  }
  return o as TokenMapping;
}

/**
 * Parses the text of mapping.jsonl. Reports progress per 10k lines and honours `signal` between
 * them, so a worker job over a 250k-line file can be cancelled.
 */
export function parseMappingJsonl(
  text: string,
  file = 'mapping.jsonl',
  opts: { onProgress?: ProgressSink; signal?: CancelSignal } = {},
): CompactMapping {
  const rawLines = text.split('\n');
  const entries: TokenMapping[] = [];
  let size = 0;
  let sourceCount = 0;
  const started = Date.now();
  for (let i = 0; i < rawLines.length; i++) {
    const line = rawLines[i].trim();
    if (line.length > 0) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (err) {
        throw new SemBridgeError(`line ${i + 1} is not valid JSON (${(err as Error).message})`, file);
      }
      const e = validateLine(parsed, `${file}:${i + 1}`);
      entries.push(e);
      if (e.id + 1 > size) size = e.id + 1;
      sourceCount += e.sources.length;
    }
    if (i % 10_000 === 9_999) {
      throwIfCancelled(opts.signal);
      const secs = (Date.now() - started) / 1000;
      const rate = secs > 0 ? (i + 1) / secs : undefined;
      opts.onProgress?.({
        stage: 'read mapping',
        done: i + 1,
        total: rawLines.length,
        rate,
        etaSeconds: rate ? (rawLines.length - i - 1) / rate : undefined,
      });
    }
  }
  if (entries.length === 0) throw new SemBridgeError('has no mapping lines', file);

  const m: CompactMapping = {
    size,
    lines: entries.length,
    tokens: new Array<string>(size).fill(''),
    match: new Uint8Array(size).fill(NO_LINE),
    support: new Uint32Array(size),
    offsets: new Uint32Array(size + 1),
    sourceIds: new Uint32Array(sourceCount),
    weights: new Float32Array(sourceCount),
    cosines: new Float32Array(sourceCount),
    sourceTokens: [],
    alphas: new Float32Array(size).fill(NaN),
  };
  // count per id first (ids may come in any order), then fill
  const counts = new Uint32Array(size);
  for (const e of entries) counts[e.id] = e.sources.length;
  for (let id = 0; id < size; id++) m.offsets[id + 1] = m.offsets[id] + counts[id];
  for (const e of entries) {
    m.tokens[e.id] = e.token;
    m.match[e.id] = MATCH_CODE.get(e.match)!;
    if (e.alpha !== undefined) m.alphas[e.id] = e.alpha;
    m.support[e.id] = Number.isInteger(e.support) ? e.support : e.sources.filter((s) => s.weight > 0).length;
    const sorted = [...e.sources].sort((a, b) => b.weight - a.weight || b.cosine - a.cosine);
    let k = m.offsets[e.id];
    for (const s of sorted) {
      m.sourceIds[k] = s.id;
      m.weights[k] = s.weight;
      m.cosines[k] = s.cosine;
      m.sourceTokens[s.id] = s.token;
      k++;
    }
  }
  for (let i = 0; i < m.sourceTokens.length; i++) if (m.sourceTokens[i] === undefined) m.sourceTokens[i] = '';
  return m;
}

/** The typed arrays to list as transferables when posting a mapping out of a worker. */
export function mappingTransferables(m: CompactMapping): ArrayBuffer[] {
  return [m.match, m.support, m.offsets, m.sourceIds, m.weights, m.cosines, m.alphas].map((a) => a.buffer as ArrayBuffer);
}

export function matchTypeOf(m: CompactMapping, id: number): MatchType | undefined {
  const code = id >= 0 && id < m.size ? m.match[id] : NO_LINE;
  return code === NO_LINE ? undefined : MATCH_TYPES[code];
}

export function sourcesOf(m: CompactMapping, id: number, limit = Infinity): SourceWeight[] {
  if (id < 0 || id >= m.size) return [];
  const out: SourceWeight[] = [];
  for (let k = m.offsets[id]; k < m.offsets[id + 1] && out.length < limit; k++) {
    const sid = m.sourceIds[k];
    out.push({ id: sid, token: m.sourceTokens[sid] ?? '', weight: m.weights[k], cosine: m.cosines[k] });
  }
  return out;
}

export function mappingRow(m: CompactMapping, id: number): MappingRow | undefined {
  const match = matchTypeOf(m, id);
  if (!match) return undefined;
  const k = m.offsets[id];
  const has = m.offsets[id + 1] > k;
  return {
    id,
    token: m.tokens[id],
    match,
    support: m.support[id],
    topSource: has ? m.sourceTokens[m.sourceIds[k]] ?? '' : '',
    topCosine: has ? m.cosines[k] : 0,
  };
}

/** Lower-cased token without the sub-word markers of WordPiece (##), SentencePiece (▁) and byte BPE (Ġ). */
export function searchKey(token: string): string {
  return token.replace(/^(##|\u2581|\u0120)/, '').toLowerCase();
}

/**
 * Answers the mapping view's queries. Keeps the id list of the last query so that scrolling (which
 * asks for successive pages of the same query) costs a slice, not a scan.
 */
export class MappingIndex {
  private keys?: string[];
  private lastKey = '';
  private lastIds: Uint32Array = new Uint32Array(0);

  constructor(readonly mapping: CompactMapping) {}

  private searchKeys(): string[] {
    if (!this.keys) this.keys = this.mapping.tokens.map(searchKey);
    return this.keys;
  }

  /** `tokenizedIds` is required in 'text' mode: the host tokenizes the pasted text with the target tokenizer. */
  query(q: MappingQuery, tokenizedIds?: number[]): MappingPage {
    const limit = Math.max(0, Math.min(500, Math.floor(q.limit)));
    const offset = Math.max(0, Math.floor(q.offset));
    const cacheKey = JSON.stringify([q.query, q.mode, q.match, q.minSupport, q.sort ?? 'id', !!q.desc, tokenizedIds ?? null]);
    if (cacheKey !== this.lastKey) {
      this.lastIds = this.sorted(this.filter(q, tokenizedIds), q);
      this.lastKey = cacheKey;
    }
    const rows: MappingRow[] = [];
    for (let i = offset; i < Math.min(this.lastIds.length, offset + limit); i++) {
      const row = mappingRow(this.mapping, this.lastIds[i]);
      if (row) rows.push(row);
    }
    return { total: this.lastIds.length, offset, rows, tokenizedIds };
  }

  /** Every id of the query, in its order (the export's rows). */
  ids(q: Omit<MappingQuery, 'offset' | 'limit'>, tokenizedIds?: number[]): Uint32Array {
    return this.sorted(this.filter({ ...q, offset: 0, limit: 0 }, tokenizedIds), q);
  }

  /** Sorted by a column (stable: ties keep vocabulary order); 'id' keeps the filter's order. */
  private sorted(ids: Uint32Array, q: Pick<MappingQuery, 'sort' | 'desc'>): Uint32Array {
    const key = q.sort ?? 'id';
    const m = this.mapping;
    const dir = q.desc ? -1 : 1;
    if (key === 'id') return q.desc ? ids.slice().reverse() : ids;
    const arr = Array.from(ids);
    const first = (id: number) => (m.offsets[id + 1] > m.offsets[id] ? m.offsets[id] : -1);
    const cmp: (a: number, b: number) => number =
      key === 'support'
        ? (a, b) => m.support[a] - m.support[b]
        : key === 'match'
          ? (a, b) => MATCH_TYPES[m.match[a]].localeCompare(MATCH_TYPES[m.match[b]])
          : key === 'topCosine'
            ? (a, b) => (first(a) < 0 ? -Infinity : m.cosines[first(a)]) - (first(b) < 0 ? -Infinity : m.cosines[first(b)])
            : key === 'topSource'
              ? (a, b) => (first(a) < 0 ? '' : m.sourceTokens[m.sourceIds[first(a)]] ?? '').localeCompare(first(b) < 0 ? '' : m.sourceTokens[m.sourceIds[first(b)]] ?? '')
              : (a, b) => m.tokens[a].localeCompare(m.tokens[b]);
    arr.sort((a, b) => dir * cmp(a, b) || a - b);
    return Uint32Array.from(arr);
  }

  private filter(q: MappingQuery, tokenizedIds?: number[]): Uint32Array {
    const m = this.mapping;
    const want = q.match && q.match !== 'all' ? MATCH_CODE.get(q.match) : undefined;
    const keep = (id: number): boolean => {
      const code = m.match[id];
      if (code === NO_LINE) return false;
      if (want !== undefined && code !== want) return false;
      return m.support[id] >= q.minSupport;
    };
    const out: number[] = [];
    if (q.mode === 'text') {
      const seen = new Set<number>();
      for (const id of tokenizedIds ?? []) if (!seen.has(id) && id < m.size && keep(id)) (seen.add(id), out.push(id));
      return Uint32Array.from(out);
    }
    const needle = searchKey(q.query.trim());
    const keys = needle ? this.searchKeys() : undefined;
    for (let id = 0; id < m.size; id++) {
      if (!keep(id)) continue;
      if (keys) {
        const key = keys[id];
        if (q.mode === 'prefix' ? !key.startsWith(needle) : !key.includes(needle)) continue;
      }
      out.push(id);
    }
    return Uint32Array.from(out);
  }

  histogram(maxBin = 32): SupportHistogram {
    const m = this.mapping;
    const bins = new Array<number>(maxBin + 1).fill(0);
    const matchCounts: Partial<Record<MatchType, number>> = {};
    const bridged = MATCH_CODE.get('bridged')!;
    for (let id = 0; id < m.size; id++) {
      const code = m.match[id];
      if (code === NO_LINE) continue;
      const t = MATCH_TYPES[code];
      matchCounts[t] = (matchCounts[t] ?? 0) + 1;
      if (code === bridged) bins[Math.min(maxBin, m.support[id])]++;
    }
    return { bins, matchCounts, vocabSize: m.lines };
  }

  /** Ids whose token string equals `token` exactly (several tokenizers have none or one). */
  idOf(token: string): number | undefined {
    const i = this.mapping.tokens.indexOf(token);
    return i >= 0 ? i : undefined;
  }
}
