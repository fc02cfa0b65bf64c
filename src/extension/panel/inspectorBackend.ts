// Answers the inspector webview's requests. No `vscode` import: the panel class forwards the
// parsed messages here, and tests call it directly against a real mapping and real workers.
import { promises as fs } from 'node:fs';
import type { ModelSession } from '../model/modelSession';
import { readTransferReport } from '../model/transferReport';
import { madeWithDemoModels } from '../../core/demoModels';
import { sourcesOf, matchTypeOf, mappingRow } from '../mapping/compactMapping';
import {
  isSpecialToken,
  MATCH_FILTERS,
  MAPPING_SORT_KEYS,
  type ExportFormat,
  type MappingSortKey,
  type MatchFilter,
  type CompareTableData,
  type ErrorCode,
  type EvaluationRun,
  type ExpansionResult,
  type HostInfo,
  type MappingQuery,
  type RequestMessage,
  type RequestMethod,
  type RequestResult,
  type SearchResult,
  type SparseSummary,
  type TokenDetail,
} from '../../protocol/inspectorProtocol';

export interface BackendDeps {
  session: ModelSession;
  info(): HostInfo;
  /** the α the active model was made with (from its report), else the setting */
  alpha(): number;
  search(query: string, k: number): Promise<SearchResult>;
  /** the English source model's representation, for the side-by-side expansion view */
  encodeWithSource?(text: string): Promise<SparseSummary>;
  /** path of the last compare table JSON (written by "Compare Initialisations…") */
  compareTableFile(): string | undefined;
  /** the folder holding one sub-folder (with metrics.json) per "Evaluate…" run */
  evaluationDir?(): string;
  /** folders of the bundled demo models and of models made from them: runs there are marked as demo */
  demoRoots?(): string[];
}

/** A request the user can fix (bad input); answered with code 'user'. */
export class BadParams extends Error {
  readonly code = 'user' as const;
}
/** Nothing to show yet (no model, no comparison): answered with code 'empty', shown neutrally. */
export class EmptyState extends Error {
  readonly code = 'empty' as const;
}

/** The protocol's error code of what a handler threw. */
export function errorCodeOf(err: unknown): ErrorCode | undefined {
  const code = (err as { code?: unknown })?.code;
  if (code === 'empty' || code === 'user' || code === 'stale-index') return code;
  // the core's refusal of an index built by another model
  if (/was built by another model/.test((err as Error)?.message ?? '')) return 'stale-index';
  return undefined;
}

function int(x: unknown, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) throw new BadParams(`${name} must be an integer in [${min}, ${max}]`);
  return x;
}
function str(x: unknown, name: string, maxLen = 10_000): string {
  if (typeof x !== 'string') throw new BadParams(`${name} must be a string`);
  if (x.length > maxLen) throw new BadParams(`${name} is longer than ${maxLen} characters`);
  return x;
}

/** The summary for display: special tokens out of the term list, counted in hiddenSpecial. */
export function withoutSpecialTerms(s: SparseSummary): SparseSummary {
  const terms = s.terms.filter((t) => !isSpecialToken(t.token));
  return terms.length === s.terms.length ? s : { ...s, terms, hiddenSpecial: (s.hiddenSpecial ?? 0) + s.terms.length - terms.length };
}

function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

export class InspectorBackend {
  /** files the webview may ask to open: only those its search results pointed at */
  private readonly openable = new Set<string>();

  isOpenable(path: string): boolean {
    return this.openable.has(path);
  }

  constructor(
    private readonly deps: BackendDeps,
    private readonly extraDeadlineMs = 5000,
  ) {}

  /** Starts preparing the active model's bridge vectors in the background (when the inspector opens). */
  warmUp(): void {
    if (this.deps.session.modelDir) void this.deps.session.inspectToken(0, []).catch(() => undefined);
  }

  async handle<M extends RequestMethod>(msg: RequestMessage<M>): Promise<RequestResult<M>> {
    const p = msg.params as Record<string, unknown>;
    switch (msg.method) {
      case 'host/info':
        return this.deps.info() as RequestResult<M>;
      case 'mapping/query':
        return (await this.query(p)) as RequestResult<M>;
      case 'mapping/token':
        return (await this.token(int(p.id, 'id'))) as RequestResult<M>;
      case 'mapping/histogram':
        return this.mappingIndex().histogram() as RequestResult<M>;
      case 'expansion/encode':
        return (await this.expansion(str(p.text, 'text'))) as RequestResult<M>;
      case 'retrieval/search': {
        const query = str(p.query, 'query').trim();
        if (!query) throw new BadParams('type a query first');
        const result = await this.deps.search(query, int(p.k ?? 10, 'k', 1, 1000));
        for (const h of result.hits) if (h.location) this.openable.add(h.location.path);
        return result as RequestResult<M>;
      }
      case 'evaluation/table':
        return (await this.compareTable()) as RequestResult<M>;
      case 'report/get': {
        const dir = this.deps.session.modelDir;
        if (!dir) throw new EmptyState('No active model yet: the report of a transfer appears here.');
        return (await readTransferReport(dir)) as RequestResult<M>;
      }
      case 'evaluation/runs':
        return { runs: await this.evaluationRuns() } as RequestResult<M>;
      default:
        throw new BadParams(`unknown request ${String(msg.method)}`);
    }
  }

  private mappingIndex() {
    const session = this.deps.session;
    const index = session.index;
    if (index) return index;
    // no model at all is a state to show neutrally; a model that failed to load is an error
    if (!session.modelDir && !session.loadProblem) throw new EmptyState('No active model yet: run "SemBridge: Transfer Encoder to Target Language…" or "SemBridge: Switch Model…".');
    session.requireModel();
    return index!;
  }

  /** A mapping query from the webview, checked field by field (unknown values fall back to defaults). */
  parseQuery(p: Record<string, unknown>): MappingQuery {
    const mode = p.mode === 'substring' || p.mode === 'text' ? p.mode : 'prefix';
    const match = typeof p.match === 'string' && (MATCH_FILTERS as readonly string[]).includes(p.match) ? (p.match as MatchFilter) : 'all';
    const sort = typeof p.sort === 'string' && (MAPPING_SORT_KEYS as readonly string[]).includes(p.sort) ? (p.sort as MappingSortKey) : undefined;
    return {
      query: str(p.query, 'query'),
      mode,
      match,
      minSupport: int(p.minSupport ?? 0, 'minSupport', 0, 1_000_000),
      offset: int(p.offset ?? 0, 'offset'),
      limit: int(p.limit ?? 100, 'limit', 0, 500),
      sort,
      desc: p.desc === true,
    };
  }

  /** The target ids a 'text' query's pasted text becomes (the real target tokenizer, in the worker). */
  async tokenizedIds(q: MappingQuery): Promise<number[] | undefined> {
    if (q.mode !== 'text' || !q.query.trim()) return undefined;
    const dir = this.deps.session.requireModel();
    const [analysis] = await this.deps.session.call('analyzeLines', { modelDir: dir, lines: [q.query] });
    return analysis.words.flatMap((w) => w.ids);
  }

  private async query(p: Record<string, unknown>) {
    const q = this.parseQuery(p);
    const index = this.mappingIndex();
    return index.query(q, await this.tokenizedIds(q));
  }

  /** "Export Mapping…": every row of the query with all its sources, as CSV or JSONL text. */
  async exportRows(p: Record<string, unknown>, format: ExportFormat): Promise<{ text: string; rows: number }> {
    const q = this.parseQuery({ ...p, offset: 0, limit: 0 });
    const index = this.mappingIndex();
    const ids = index.ids(q, await this.tokenizedIds(q));
    const m = index.mapping;
    const lines: string[] = [];
    const csv = (s: string | number) => {
      const t = String(s);
      return /[",\n\r]/.test(t) || /^[=+\-@]/.test(t) ? `"${(/^[=+\-@]/.test(t) ? "'" : '') + t.replace(/"/g, '""')}"` : t;
    };
    if (format === 'csv') lines.push('id,token,match,support,top_source,top_cosine,sources');
    for (const id of ids) {
      const row = mappingRow(m, id);
      if (!row) continue;
      const sources = sourcesOf(m, id);
      if (format === 'csv')
        lines.push([row.id, csv(row.token), row.match, row.support, csv(row.topSource), row.topCosine, csv(sources.map((s) => `${s.token}:${s.weight}`).join(' '))].join(','));
      else lines.push(JSON.stringify({ id: row.id, token: row.token, match: row.match, support: row.support, sources: sources.map((s) => ({ id: s.id, token: s.token, weight: s.weight, cosine: s.cosine })) }));
    }
    return { text: lines.join('\n') + '\n', rows: ids.length };
  }

  private async token(id: number): Promise<TokenDetail> {
    const mapping = this.mappingIndex().mapping;
    const match = matchTypeOf(mapping, id);
    if (!match) throw new BadParams(`token id ${id} is not in the mapping`);
    const sources = sourcesOf(mapping, id);
    // adaptive α: the token's own, from its mapping line (older mappings have no alphas array)
    const own = mapping.alphas?.[id];
    const detail: TokenDetail = {
      id,
      token: mapping.tokens[id],
      match,
      support: mapping.support[id],
      alpha: own !== undefined && Number.isFinite(own) ? own : this.deps.alpha(),
      ...(own !== undefined && Number.isFinite(own) ? { alphaAuto: true } : {}),
      sources,
      candidates: [...sources].sort((a, b) => b.cosine - a.cosine).map(({ id: sid, token, cosine }) => ({ id: sid, token, cosine })),
      candidatesFrom: 'mapping',
      notes: [],
    };
    // every cosine outside an entmax support is at most the smallest one inside it
    if (match === 'bridged' && detail.candidates.length) detail.nextCosine = detail.candidates[detail.candidates.length - 1].cosine;
    try {
      // the first call for a model prepares its inputs (bridge vectors from the cache, source
      // weights); the answer does not wait for that longer than a few seconds
      const extra = await withDeadline(
        this.deps.session.inspectToken(
          id,
          sources.map((s) => ({ id: s.id, weight: s.weight })),
        ),
        this.extraDeadlineMs,
        'the bridge vectors of this model are still loading (first use); select the token again in a moment',
      );
      if (extra.candidates.length) {
        detail.candidates = extra.candidates;
        detail.candidatesFrom = 'bridge-cache';
        detail.nextCosine = extra.nextCosine;
      }
      detail.bias = extra.bias;
      detail.neighbours = extra.neighbours?.filter((n) => !isSpecialToken(n.token));
      detail.notes.push(...extra.notes);
    } catch (err) {
      detail.notes.push(`Bias, nearest rows and the full cosine list: ${(err as Error).message}`);
    }
    return detail;
  }

  private async expansion(text: string): Promise<ExpansionResult> {
    if (!text.trim()) throw new BadParams('type a query first');
    const [target] = await this.deps.session.encode([text]);
    const result: ExpansionResult = { text, target: withoutSpecialTerms(target) };
    if (this.deps.encodeWithSource) {
      try {
        result.source = withoutSpecialTerms(await this.deps.encodeWithSource(text));
      } catch (err) {
        result.sourceMissing = (err as Error).message;
      }
    } else result.sourceMissing = 'set sembridge.sourceModel to compare with the English model';
    return result;
  }

  /** The "Evaluate…" runs in the storage, newest first; a folder without a readable metrics.json is skipped. */
  private async evaluationRuns(): Promise<EvaluationRun[]> {
    const dir = this.deps.evaluationDir?.();
    if (!dir) return [];
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((n) => !n.startsWith('.'));
    } catch {
      return [];
    }
    const runs: EvaluationRun[] = [];
    for (const name of names) {
      const file = `${dir}/${name}/metrics.json`;
      try {
        const [raw, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
        const j = JSON.parse(raw) as Record<string, unknown>;
        const model = typeof j.model === 'string' ? j.model : name.split('--')[0];
        const demo = await this.madeWithDemoModels(model);
        const metrics: Record<string, number> = {};
        for (const [k, v] of Object.entries(j)) if (typeof v === 'number' && !['numQueries', 'numDocs', 'qrelsUnknownDocuments', 'seconds'].includes(k)) metrics[k] = v;
        runs.push({
          name,
          model,
          dataset: typeof j.dataset === 'string' ? j.dataset : name.split('--')[1] ?? '',
          metrics,
          numQueries: typeof j.numQueries === 'number' ? j.numQueries : undefined,
          numDocs: typeof j.numDocs === 'number' ? j.numDocs : undefined,
          date: st.mtime.toISOString(),
          ...(demo ? { demo } : {}),
        });
      } catch {
        /* not a finished run */
      }
    }
    return runs.sort((a, b) => b.date.localeCompare(a.date));
  }

  private async compareTable(): Promise<CompareTableData> {
    const file = this.deps.compareTableFile();
    if (!file) throw new EmptyState('No comparison yet: run "SemBridge: Compare Initialisations…" to fill this table.');
    let data: CompareTableData;
    try {
      data = JSON.parse(await fs.readFile(file, 'utf8')) as CompareTableData;
    } catch (err) {
      throw new Error(`${file}: cannot read the compare table (${(err as Error).message})`);
    }
    if (!Array.isArray(data.rows) || !Array.isArray(data.metrics)) throw new Error(`${file}: not a compare table (needs "metrics" and "rows")`);
    const demo = typeof data.source === 'string' && (await this.madeWithDemoModels(data.source));
    return { ...data, ...(demo ? { demo } : {}) };
  }

  /** The model folder is (or was transferred from) a bundled demo model; its report is read when it has one. */
  private async madeWithDemoModels(modelDir: string): Promise<boolean> {
    const roots = this.deps.demoRoots?.() ?? [];
    if (roots.length === 0) return false;
    let report: unknown;
    try {
      report = JSON.parse(await fs.readFile(`${modelDir}/sembridge/report.json`, 'utf8'));
    } catch {
      /* an untransferred model (the demo's own source) or a removed folder: decided by its path */
    }
    return madeWithDemoModels(modelDir, report, roots);
  }
}
