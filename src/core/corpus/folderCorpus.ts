// A folder of text files as a corpus (a VS Code workspace, a docs tree). Only UTF-8 text is
// read; binary files and other encodings are skipped with a message saying why.
import { promises as fs } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { SemBridgeError } from '../errors';
import { DEFAULT_PASSAGE_WINDOW, splitIntoPassages, type PassageWindow } from './passages';
import type { Loaded, LoadProblem, Passage } from './types';

export const DEFAULT_TEXT_EXTENSIONS = ['.txt', '.md'];
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.hg', '.svn', 'dist', 'out', '.vscode-test']);

export interface FolderCorpusOptions extends Partial<PassageWindow> {
  /** file name endings to read, lower case with the dot */
  extensions?: string[];
  /** files larger than this are skipped (bytes) */
  maxFileBytes?: number;
}

export type DecodeResult = { ok: true; text: string } | { ok: false; reason: string };

/** UTF-8 text or a reason to skip: NUL bytes mean binary; invalid UTF-8 means another encoding. */
export function decodeTextFile(bytes: Uint8Array): DecodeResult {
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) return { ok: false, reason: 'binary file (contains NUL bytes)' };
  try {
    let text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { ok: true, text };
  } catch {
    return { ok: false, reason: 'not valid UTF-8 (convert it to UTF-8 to index it)' };
  }
}

async function listFiles(root: string, dir: string, exts: string[], out: string[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.') && e.name !== '.') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) await listFiles(root, p, exts, out);
    } else if (e.isFile() && exts.some((x) => e.name.toLowerCase().endsWith(x))) {
      out.push(p);
    }
  }
}

/** Relative path with forward slashes: stable passage ids across platforms. */
export function corpusRelativePath(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}

/** Reads one file into passages (used by the folder loader and by incremental re-indexing). */
export async function loadTextFilePassages(root: string, file: string, opts: FolderCorpusOptions = {}): Promise<{ passages: Passage[]; problem?: LoadProblem }> {
  const rel = corpusRelativePath(root, file);
  const st = await fs.stat(file);
  const maxBytes = opts.maxFileBytes ?? 10 * 1024 * 1024;
  if (st.size > maxBytes) return { passages: [], problem: { file: rel, message: `skipped: larger than ${maxBytes} bytes` } };
  const decoded = decodeTextFile(await fs.readFile(file));
  if (!decoded.ok) return { passages: [], problem: { file: rel, message: `skipped: ${decoded.reason}` } };
  const window = { window: opts.window ?? DEFAULT_PASSAGE_WINDOW.window, stride: opts.stride ?? DEFAULT_PASSAGE_WINDOW.stride };
  return { passages: splitIntoPassages(rel, decoded.text, window) };
}

export async function loadFolderCorpus(root: string, opts: FolderCorpusOptions = {}): Promise<Loaded<Passage>> {
  let st;
  try {
    st = await fs.stat(root);
  } catch {
    throw new SemBridgeError('corpus folder not found', root);
  }
  if (!st.isDirectory()) throw new SemBridgeError('not a folder', root);
  const exts = (opts.extensions ?? DEFAULT_TEXT_EXTENSIONS).map((x) => (x.startsWith('.') ? x : `.${x}`).toLowerCase());
  const files: string[] = [];
  await listFiles(root, root, exts, files);
  const items: Passage[] = [];
  const problems: LoadProblem[] = [];
  for (const f of files) {
    const { passages, problem } = await loadTextFilePassages(root, f, opts);
    if (problem) problems.push(problem);
    items.push(...passages);
  }
  return { items, problems };
}
