// The transferred models the extension knows of: those under its storage and the folders used
// recently, each described by its own sembridge/report.json (inputs, method, α, date, vocabulary).
// No `vscode` import: the "Switch Model…" quick pick and the commands that need a model's inputs
// (Expansion's English side, Compare) read it through here.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export interface ModelEntry {
  dir: string;
  name: string;
  /** the inputs the model was made from, as its report records them */
  source?: string;
  targetTokenizer?: string;
  bridge?: string;
  method?: string;
  alpha?: number;
  createdAt?: string;
  vocabSize?: number;
  /** why the report could not be read (the folder is still listed when it was used recently) */
  problem?: string;
}

export const REPORT_PATH = join('sembridge', 'report.json');

/** The model folder's description from its report; `problem` says why when there is none. */
export function readModelEntry(dir: string): ModelEntry {
  const entry: ModelEntry = { dir, name: basename(dir) };
  const file = join(dir, REPORT_PATH);
  let r: Record<string, any>;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    entry.problem = existsSync(file) ? `${file}: ${(err as Error).message}` : `${file} is missing: the folder was not written by a transfer`;
    return entry;
  }
  const str = (x: unknown) => (typeof x === 'string' && x ? x : undefined);
  entry.source = str(r.inputs?.source?.path);
  entry.targetTokenizer = str(r.inputs?.targetTokenizer?.path);
  entry.bridge = str(r.inputs?.bridge?.path);
  entry.method = str(r.parameters?.method);
  entry.alpha = typeof r.parameters?.alpha === 'number' ? r.parameters.alpha : undefined;
  entry.createdAt = str(r.createdAt);
  entry.vocabSize = typeof r.inputs?.targetTokenizer?.vocabSize === 'number' ? r.inputs.targetTokenizer.vocabSize : undefined;
  return entry;
}

/** Model folders (with a report) up to two levels under `root`, e.g. <storage>/demo/bert-mlm-ko. */
function modelsUnder(root: string, depth = 2): string[] {
  const out: string[] = [];
  const walk = (d: string, left: number) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith('.') || n === 'bridge-cache' || n === 'indexes') continue;
      const p = join(d, n);
      try {
        if (!statSync(p).isDirectory()) continue;
      } catch {
        continue;
      }
      if (existsSync(join(p, REPORT_PATH))) out.push(p);
      else if (left > 1) walk(p, left - 1);
    }
  };
  walk(root, depth);
  return out;
}

/** The storage's models and the recent folders (most recent first), each once; recent ones that are gone are left out. */
export function listModels(storageDir: string, recent: readonly string[]): ModelEntry[] {
  const seen = new Set<string>();
  const out: ModelEntry[] = [];
  for (const d of [...recent, ...modelsUnder(storageDir)]) {
    const dir = resolve(d);
    if (seen.has(dir) || !existsSync(dir)) continue;
    seen.add(dir);
    out.push(readModelEntry(dir));
  }
  return out;
}

/** `recent` with `dir` moved to the front, at most `max` long. */
export function withRecent(recent: readonly string[], dir: string, max = 10): string[] {
  const d = resolve(dir);
  return [d, ...recent.filter((r) => resolve(r) !== d)].slice(0, max);
}

/** The one-line description of a model in the quick pick: "source → target · method α · date · vocab". */
export function describeModel(e: ModelEntry): { description: string; detail: string } {
  if (e.problem) return { description: '', detail: `${e.dir} — ${e.problem}` };
  const arrow = `${e.source ? basename(e.source) : '?'} → ${e.targetTokenizer ? basename(e.targetTokenizer) : '?'}`;
  const parts = [
    e.method ? `${e.method}${e.method === 'sembridge' && e.alpha !== undefined ? ` α=${e.alpha}` : ''}` : undefined,
    e.createdAt ? e.createdAt.slice(0, 16).replace('T', ' ') : undefined,
    e.vocabSize !== undefined ? `${e.vocabSize.toLocaleString('en-US')} tokens` : undefined,
  ].filter(Boolean);
  return { description: arrow, detail: `${parts.join(' · ')} — ${e.dir}` };
}
