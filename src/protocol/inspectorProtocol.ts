// The one message protocol between the extension host and the inspector webview. Both sides
// import this module (the host through the extension bundle, the webview through its own bundle),
// so a method, its parameters and its result are declared once. Modelled on GitLens' IPC:
// requests carry an id and are answered by a response with the same id; commands and
// notifications are one-way. Everything here must stay free of `vscode` and Node imports.
import type { MatchType } from '../core/types';

/** How long the webview waits for a response before it shows a visible error. */
export const REQUEST_TIMEOUT_MS = 15_000;

export const MATCH_TYPES: readonly MatchType[] = ['exact', 'fuzzy', 'symbol', 'role', 'bridged', 'fallback', 'unreachable'];

export type ViewName = 'mapping' | 'expansion' | 'retrieval' | 'evaluation' | 'report';
export const VIEW_NAMES: readonly ViewName[] = ['mapping', 'expansion', 'retrieval', 'evaluation', 'report'];

// ---------------------------------------------------------------------------------------------
// Shapes carried by the messages

export type MappingSearchMode = 'prefix' | 'substring' | 'text';
/** 'all' or one match kind (exact, fuzzy, symbol, role, bridged, fallback) */
export type MatchFilter = 'all' | MatchType;
export const MATCH_FILTERS: readonly MatchFilter[] = ['all', 'exact', 'fuzzy', 'symbol', 'role', 'bridged', 'fallback'];

/** The mapping table's sortable columns ('id': vocabulary order, the default). */
export type MappingSortKey = 'id' | 'token' | 'match' | 'support' | 'topSource' | 'topCosine';
export const MAPPING_SORT_KEYS: readonly MappingSortKey[] = ['id', 'token', 'match', 'support', 'topSource', 'topCosine'];

export interface MappingQuery {
  query: string;
  mode: MappingSearchMode;
  match: MatchFilter;
  minSupport: number;
  offset: number;
  limit: number;
  sort?: MappingSortKey;
  desc?: boolean;
}

export type ExportFormat = 'csv' | 'jsonl';

export interface MappingRow {
  id: number;
  token: string;
  match: MatchType;
  support: number;
  topSource: string;
  topCosine: number;
}

export interface MappingPage {
  /** rows matching the query and filters in all (the virtual list's height) */
  total: number;
  offset: number;
  rows: MappingRow[];
  /** set in 'text' mode: the target-tokenizer ids the pasted text became */
  tokenizedIds?: number[];
}

export interface SourceWeight {
  id: number;
  token: string;
  weight: number;
  cosine: number;
}

export interface TokenDetail {
  id: number;
  token: string;
  match: MatchType;
  support: number;
  /** the α this token was made with: its own with `--alpha auto` (alphaAuto true), else the model's */
  alpha: number;
  alphaAuto?: boolean;
  sources: SourceWeight[];
  /**
   * The token's top-K cosines to source tokens, sorted descending (from the bridge cache when
   * present, else the mapping's own sources). The α slider recomputes entmax over exactly these
   * in the webview; `nextCosine` bounds every cosine left out (for entmaxOverTopK's certificate).
   */
  candidates: { id: number; token: string; cosine: number }[];
  nextCosine?: number;
  /** where `candidates` came from, shown to the user so a short list is not mistaken for the full one */
  candidatesFrom: 'bridge-cache' | 'mapping';
  /** the MLM output bias of the token after initialisation, when the model files give it */
  bias?: number;
  /** nearest source rows of the reconstructed embedding, when computed */
  neighbours?: { id: number; token: string; cosine: number }[];
  /** why bias or neighbours are missing */
  notes: string[];
}

/** Two names for one measure: RR@10 is what ir_measures calls MRR@10. */
export const METRIC_ALIASES: Record<string, string> = { 'MRR@10': 'RR@10', MRR: 'RR' };

/** The metric names to show: an alias whose values equal its canonical measure's in every row is dropped. */
export function distinctMetrics(metrics: string[], rows: { metrics: Record<string, number> }[]): string[] {
  return metrics.filter((m) => {
    const canon = METRIC_ALIASES[m];
    if (!canon || !metrics.includes(canon)) return true;
    return !rows.every((r) => r.metrics[m] === r.metrics[canon] || (r.metrics[m] === undefined && r.metrics[canon] === undefined));
  });
}

export interface SupportHistogram {
  /** bins[i] = number of bridged tokens whose support size is i (last bin: that many or more) */
  bins: number[];
  matchCounts: Partial<Record<MatchType, number>>;
  vocabSize: number;
}

export interface SparseTerm {
  id: number;
  token: string;
  weight: number;
}

/**
 * Special and placeholder tokens ([CLS], [SEP], [PAD], [MASK], [UNK], [unused0], <s>, </s>, <pad>,
 * <unk>, <mask>, <|endoftext|>): never an expansion term or a "nearest row" worth showing.
 */
export function isSpecialToken(token: string): boolean {
  return /^\[(?:CLS|SEP|PAD|MASK|UNK|unused\d+)\]$/i.test(token) || /^<\/?(?:s|pad|unk|mask|cls|sep)>$/i.test(token) || /^<\|[^|]*\|>$/.test(token);
}

export interface SparseSummary {
  model: string;
  terms: SparseTerm[];
  /** special tokens taken out of `terms` for display (still counted in activeDims and flops) */
  hiddenSpecial?: number;
  activeDims: number;
  /** Σ w² over the vector: the FLOPS regulariser of a batch of one; a proxy for retrieval cost */
  flops: number;
}

export interface ExpansionResult {
  text: string;
  target: SparseSummary;
  /** the original English encoder, when configured (sembridge.sourceModel) */
  source?: SparseSummary;
  sourceMissing?: string;
}

export interface HitTerm {
  token: string;
  contribution: number;
}

export interface SearchHit {
  rank: number;
  docId: string;
  score: number;
  title?: string;
  snippet: string;
  /** [start, end) character ranges of `snippet` to highlight */
  highlights: [number, number][];
  terms: HitTerm[];
  /** file to open on click; with a 0-based line when known */
  location?: { path: string; line?: number };
}

export interface SearchResult {
  query: string;
  index: string;
  hits: SearchHit[];
  tookMs: number;
}

export interface CompareRow {
  method: string;
  /** 'auto': adaptive α (one α per token) */
  alpha?: number | 'auto';
  metrics: Record<string, number>;
}

export interface CompareTableData {
  metrics: string[];
  rows: CompareRow[];
  /** the untransferred source model, the reference line */
  base?: CompareRow;
  source: string;
  /** made with the tiny bundled demo models: its numbers mean nothing about quality */
  demo?: boolean;
}

/** One "SemBridge: Evaluate…" result (its metrics.json in the extension's storage). */
export interface EvaluationRun {
  /** the run's folder name: <model>--<dataset> */
  name: string;
  model: string;
  dataset: string;
  /** retrieval measures (nDCG@10, R@100, …) and the cost measures FLOPS, avgQueryTerms, avgDocTerms */
  metrics: Record<string, number>;
  numQueries?: number;
  numDocs?: number;
  /** ISO date the run was written */
  date: string;
  /** the model was made from (or is) the tiny bundled demo models: its numbers mean nothing about quality */
  demo?: boolean;
}

/** A model's sparse behaviour on the report's probe texts. */
export interface ProbeSummary {
  texts: number;
  /** mean number of active (non-zero) dimensions per text */
  meanActive: number;
  /** FLOPS of the probe set against itself */
  flops: number;
  /** the output vocabulary (dimensions) of the model */
  vocabSize?: number;
}

/** What the transfer report view shows (from the active model's sembridge/report.json). */
export interface TransferReportData {
  model: string;
  createdAt?: string;
  method?: string;
  alpha?: number;
  inputs: { source?: string; targetTokenizer?: string; bridge?: string };
  counts: Partial<Record<MatchType, number>>;
  /** support size → number of bridged tokens */
  supportHistogram: Record<string, number>;
  support?: { mean: number; median: number; max: number };
  /** stage → milliseconds, in the report's order */
  timings: { stage: string; ms: number }[];
  diagnostics?: { language?: string; unknownRate?: number; source: ProbeSummary; transferred: ProbeSummary };
  /** the report's own warnings and the collapse checks on the probe texts */
  warnings: string[];
  collapse?: 'few-active' | 'most-active';
}

/** One corpus index in the extension's storage (from its manifest.json). */
export interface IndexInfo {
  name: string;
  corpus?: string;
  /** the model folder that built it */
  model?: string;
  documents?: number;
  createdAt?: string;
  /** the number of workspace files indexed, when the corpus was the workspace */
  workspaceFiles?: number;
  /** built by another model than the active one: searching it is refused; Rebuild makes a new one */
  otherModel?: boolean;
  problem?: string;
}

export interface HostInfo {
  activeModel?: string;
  /** the active model is the bundled demo (tiny, untrained models): its numbers are not results */
  demo?: boolean;
  activeModelProblem?: string;
  indexes: string[];
  /** the indexes with what built them, and the one Retrieval searches */
  indexInfo?: IndexInfo[];
  currentIndex?: string;
  compareTable?: string;
  trusted: boolean;
}

/** What the webview keeps through `setState` so the panel comes back as it was. */
export interface InspectorState {
  view: ViewName;
  mapping: { query: string; mode: MappingSearchMode; match: MatchFilter; minSupport: number; sort?: MappingSortKey; desc?: boolean; selectedId?: number; /** a previewed α, valid only for the token alphaTokenId */ alpha?: number; alphaTokenId?: number; scrollTop: number };
  expansion: { text: string };
  retrieval: { query: string };
}

export const DEFAULT_STATE: InspectorState = {
  view: 'mapping',
  mapping: { query: '', mode: 'prefix', match: 'all', minSupport: 0, scrollTop: 0 },
  expansion: { text: '' },
  retrieval: { query: '' },
};

// ---------------------------------------------------------------------------------------------
// Method tables

/** webview → host, answered by a response */
export interface RequestMap {
  'host/info': { params: Record<string, never>; result: HostInfo };
  'mapping/query': { params: MappingQuery; result: MappingPage };
  'mapping/token': { params: { id: number }; result: TokenDetail };
  'mapping/histogram': { params: Record<string, never>; result: SupportHistogram };
  'expansion/encode': { params: { text: string }; result: ExpansionResult };
  'retrieval/search': { params: { query: string; k: number }; result: SearchResult };
  'evaluation/table': { params: Record<string, never>; result: CompareTableData };
  'evaluation/runs': { params: Record<string, never>; result: { runs: EvaluationRun[] } };
  'report/get': { params: Record<string, never>; result: TransferReportData };
}
export type RequestMethod = keyof RequestMap;
export type RequestParams<M extends RequestMethod> = RequestMap[M]['params'];
export type RequestResult<M extends RequestMethod> = RequestMap[M]['result'];

/** webview → host, no answer */
export interface CommandMap {
  'webview/ready': { view: ViewName };
  /** the page's loader guard: the app did not start; rebuild the page */
  'webview/retry': Record<string, never>;
  'retrieval/open': { path: string; line?: number };
  'host/runCommand': { command: HostCommandId };
  /** "Export Mapping…": the rows of this query (all pages), to a CSV or JSONL file the user picks */
  'mapping/export': { query: Omit<MappingQuery, 'offset' | 'limit'>; format: ExportFormat };
  /** the index picker in Retrieval */
  'index/select': { name: string };
}
export type CommandMethod = keyof CommandMap;

/** The host commands the webview may ask to run (a closed list; nothing else is executed). */
export const HOST_COMMANDS = ['sembridge.transfer', 'sembridge.indexCorpus', 'sembridge.rebuildIndex', 'sembridge.evaluate', 'sembridge.compare', 'sembridge.switchModel'] as const;
export type HostCommandId = (typeof HOST_COMMANDS)[number];

/** host → webview */
export interface NotificationMap {
  'view/show': { view: ViewName; tokenId?: number; text?: string };
  'host/changed': HostInfo;
  'selection/preview': ExpansionResult;
}
export type NotificationMethod = keyof NotificationMap;

// ---------------------------------------------------------------------------------------------
// Wire messages

export interface RequestMessage<M extends RequestMethod = RequestMethod> {
  kind: 'request';
  id: number;
  method: M;
  params: RequestParams<M>;
}
/**
 * Why a request has no result: 'empty' is a state, not a failure (no model yet, no comparison
 * yet), shown neutrally; 'user' is a mistake the user can fix (bad input); 'stale-index': the index
 * was built by another model (Retrieval offers Rebuild); absent: a real error.
 */
export type ErrorCode = 'empty' | 'user' | 'stale-index';
export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: string; code?: ErrorCode };
export interface CommandMessage<M extends CommandMethod = CommandMethod> {
  kind: 'command';
  method: M;
  params: CommandMap[M];
}
export interface NotificationMessage<M extends NotificationMethod = NotificationMethod> {
  kind: 'notification';
  method: M;
  params: NotificationMap[M];
}

export type WebviewToHost = RequestMessage | CommandMessage;
export type HostToWebview = ResponseMessage | NotificationMessage;

const REQUEST_METHODS: ReadonlySet<string> = new Set<RequestMethod>([
  'host/info',
  'mapping/query',
  'mapping/token',
  'mapping/histogram',
  'expansion/encode',
  'retrieval/search',
  'evaluation/table',
  'evaluation/runs',
  'report/get',
]);
const COMMAND_METHODS: ReadonlySet<string> = new Set<CommandMethod>(['webview/ready', 'webview/retry', 'index/select', 'mapping/export', 'retrieval/open', 'host/runCommand']);

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Checks the envelope of a message from the webview. The webview renders untrusted corpus text,
 * so the host treats what it receives as input: unknown methods and malformed envelopes are
 * refused here, and each handler validates its own parameters.
 */
export function parseWebviewMessage(x: unknown): WebviewToHost | string {
  if (!isRecord(x)) return 'message is not an object';
  if (x.kind === 'request') {
    if (typeof x.id !== 'number' || !Number.isInteger(x.id)) return 'request without an integer id';
    if (typeof x.method !== 'string' || !REQUEST_METHODS.has(x.method)) return `unknown request method ${String(x.method)}`;
    if (!isRecord(x.params)) return `request ${x.method}: params must be an object`;
    return x as unknown as RequestMessage;
  }
  if (x.kind === 'command') {
    if (typeof x.method !== 'string' || !COMMAND_METHODS.has(x.method)) return `unknown command ${String(x.method)}`;
    if (!isRecord(x.params)) return `command ${x.method}: params must be an object`;
    return x as unknown as CommandMessage;
  }
  return `unknown message kind ${String(x.kind)}`;
}

/** Checks what comes back from `getState()`: an old or foreign state falls back to defaults. */
export function restoreState(x: unknown): InspectorState {
  if (!isRecord(x)) return structuredCloneState(DEFAULT_STATE);
  const s = structuredCloneState(DEFAULT_STATE);
  if (typeof x.view === 'string' && (VIEW_NAMES as readonly string[]).includes(x.view)) s.view = x.view as ViewName;
  const m = isRecord(x.mapping) ? x.mapping : {};
  if (typeof m.query === 'string') s.mapping.query = m.query;
  if (m.mode === 'prefix' || m.mode === 'substring' || m.mode === 'text') s.mapping.mode = m.mode;
  if (typeof m.match === 'string' && (MATCH_FILTERS as readonly string[]).includes(m.match)) s.mapping.match = m.match as MatchFilter;
  if (typeof m.sort === 'string' && (MAPPING_SORT_KEYS as readonly string[]).includes(m.sort)) s.mapping.sort = m.sort as MappingSortKey;
  if (m.desc === true) s.mapping.desc = true;
  if (typeof m.minSupport === 'number' && m.minSupport >= 0) s.mapping.minSupport = Math.floor(m.minSupport);
  if (typeof m.selectedId === 'number' && m.selectedId >= 0) s.mapping.selectedId = Math.floor(m.selectedId);
  // an α without the token it was set on is dropped (older states carried it over to every token)
  if (typeof m.alpha === 'number' && m.alpha > 1 && typeof m.alphaTokenId === 'number' && m.alphaTokenId >= 0) {
    s.mapping.alpha = m.alpha;
    s.mapping.alphaTokenId = Math.floor(m.alphaTokenId);
  }
  if (typeof m.scrollTop === 'number' && m.scrollTop >= 0) s.mapping.scrollTop = m.scrollTop;
  if (isRecord(x.expansion) && typeof x.expansion.text === 'string') s.expansion.text = x.expansion.text;
  if (isRecord(x.retrieval) && typeof x.retrieval.query === 'string') s.retrieval.query = x.retrieval.query;
  return s;
}

function structuredCloneState(s: InspectorState): InspectorState {
  return { view: s.view, mapping: { ...s.mapping }, expansion: { ...s.expansion }, retrieval: { ...s.retrieval } };
}
