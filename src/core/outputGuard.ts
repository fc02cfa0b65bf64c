// Rules for the folders SemBridge writes (`--out`): what may be replaced, and what never.
//  - An output folder carries a marker, sembridge/output.json, naming its kind (model, index, ...).
//  - An existing folder is replaced only when it carries the marker of the same kind (or is empty);
//    anything else is refused, and `force` is the explicit override.
//  - An output equal to, inside, or a parent of an input is refused even with `force`.
// Folders written before the marker existed are recognised by their own files (LEGACY below).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { version as toolVersion } from '../../package.json';
import { SemBridgeError } from './errors';
import { isSameOrInside, realPathLoose } from './fsUtil';

export const OUTPUT_KINDS = ['model', 'index', 'export', 'comparison', 'demo', 'evaluation', 'bridge-folder', 'benchmark-data'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

/** The marker's path inside an output folder. */
export const OUTPUT_MARKER = join('sembridge', 'output.json');

export interface OutputMarker {
  tool: 'sembridge';
  kind: OutputKind;
  version: string;
  createdAt: string;
}

export function outputMarker(kind: OutputKind): OutputMarker {
  return { tool: 'sembridge', kind, version: toolVersion, createdAt: new Date().toISOString() };
}

export async function writeOutputMarker(dir: string, kind: OutputKind): Promise<void> {
  await fs.mkdir(join(dir, 'sembridge'), { recursive: true });
  await fs.writeFile(join(dir, OUTPUT_MARKER), JSON.stringify(outputMarker(kind), null, 2) + '\n');
}

async function readJson(p: string): Promise<Record<string, unknown> | undefined> {
  try {
    const v = JSON.parse(await fs.readFile(p, 'utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** How folders written by versions without the marker are recognised, by the files they always wrote. */
const LEGACY: Partial<Record<OutputKind, (dir: string) => Promise<boolean>>> = {
  model: async (dir) => (await readJson(join(dir, 'sembridge', 'report.json')))?.tool === 'sembridge',
  index: async (dir) => (await readJson(join(dir, 'manifest.json')))?.format === 'sembridge-sparse-index',
  export: async (dir) => {
    const m = await readJson(join(dir, 'export-manifest.json'));
    return !!m && typeof m.modelHash === 'string' && Array.isArray(m.files) && 'featureNameEscaping' in m;
  },
  // the extension's evaluate wrote a folder holding metrics.json alone
  evaluation: async (dir) => {
    const m = await readJson(join(dir, 'metrics.json'));
    return !!m && typeof m.model === 'string' && 'FLOPS' in m;
  },
  comparison: async (dir) => {
    const c = await readJson(join(dir, 'compare.json'));
    return !!c && typeof c.parameters === 'object' && typeof c.table === 'object';
  },
};

/** The kind of SemBridge output `dir` holds, or undefined (not ours, or not a folder). */
export async function outputKindOf(dir: string): Promise<OutputKind | undefined> {
  const m = await readJson(join(dir, OUTPUT_MARKER));
  if (m?.tool === 'sembridge' && (OUTPUT_KINDS as readonly string[]).includes(m.kind as string)) return m.kind as OutputKind;
  for (const [kind, test] of Object.entries(LEGACY)) if (await test(dir)) return kind as OutputKind;
  return undefined;
}

export interface OutputTargetOptions {
  kind: OutputKind;
  /** replace an existing folder that is not a SemBridge output of this kind (it is moved aside, not deleted) */
  force?: boolean;
  /** every path the run reads (undefined entries are skipped) */
  inputs?: (string | undefined | null)[];
  /** what to call the output in messages (default '--out') */
  option?: string;
}

export type OutputTargetState = { exists: false } | { exists: true; ours: boolean; kind?: OutputKind };

const KIND_NAMES: Record<OutputKind, string> = {
  model: 'a SemBridge model folder',
  index: 'a SemBridge index',
  export: 'a SemBridge export',
  comparison: 'a SemBridge comparison',
  demo: 'a SemBridge demo folder',
  evaluation: 'a SemBridge evaluation',
  'bridge-folder': 'a SemBridge bridge folder',
  'benchmark-data': 'a SemBridge benchmark data folder',
};

/**
 * Checks that `out` may be written as an output of `opts.kind`; throws a one-line SemBridgeError
 * naming the path and the reason otherwise. Reads only: nothing is created or changed.
 */
export async function checkOutputTarget(out: string, opts: OutputTargetOptions): Promise<OutputTargetState> {
  const option = opts.option ?? '--out';
  const real = realPathLoose(out);
  for (const input of opts.inputs ?? []) {
    if (!input) continue;
    const inReal = realPathLoose(input);
    if (isSameOrInside(real, inReal) || isSameOrInside(inReal, real)) {
      const how = real === inReal ? 'is the input' : isSameOrInside(real, inReal) ? 'contains the input' : 'is inside the input';
      throw new SemBridgeError(`${how} ${input}; an input is never overwritten (not even with --force): choose a separate folder`, `${option} ${out}`);
    }
  }
  const st = await fs.lstat(out).catch(() => undefined);
  if (!st) return { exists: false };
  if (!st.isDirectory()) {
    if (opts.force) return { exists: true, ours: false };
    throw new SemBridgeError(`exists and is not a folder; choose another path, or pass --force to replace it (it is moved aside, not deleted)`, `${option} ${out}`);
  }
  const entries = await fs.readdir(out);
  if (entries.length === 0) return { exists: true, ours: true };
  const kind = await outputKindOf(out);
  if (kind === opts.kind) return { exists: true, ours: true, kind };
  if (opts.force) return { exists: true, ours: false, kind };
  const what = kind ? `holds ${KIND_NAMES[kind]}, not ${KIND_NAMES[opts.kind]}` : `exists and is not ${KIND_NAMES[opts.kind]} (no ${OUTPUT_MARKER.split('\\').join('/')})`;
  throw new SemBridgeError(`${what}; nothing was changed. Choose a new folder, or pass --force to replace it (its contents are moved aside, not deleted)`, `${option} ${out}`);
}

/**
 * The same rules for an output file: never an input (nor inside one), never a folder; an existing
 * file is replaced only when `isOurs` says SemBridge wrote it, or with `force`.
 */
export async function checkOutputFile(
  path: string,
  opts: { inputs?: (string | undefined | null)[]; force?: boolean; option: string; what: string; isOurs: (p: string) => Promise<boolean> },
): Promise<void> {
  const real = realPathLoose(path);
  for (const input of opts.inputs ?? []) {
    if (input && isSameOrInside(realPathLoose(input), real))
      throw new SemBridgeError(`is the input ${input}; an input is never overwritten (not even with --force)`, `${opts.option} ${path}`);
  }
  const st = await fs.stat(path).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) throw new SemBridgeError('is a folder; give a file name', `${opts.option} ${path}`);
  if (!opts.force && !(await opts.isOurs(path).catch(() => false)))
    throw new SemBridgeError(`exists and is not ${opts.what}; nothing was changed. Choose a new file name, or pass --force to replace it`, `${opts.option} ${path}`);
}
