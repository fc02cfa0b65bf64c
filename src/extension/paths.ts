// Resolving and checking the paths that come from settings and dialogs. Three rules:
// 1. settings may use `~`, `${workspaceFolder}` and paths relative to the first workspace folder;
// 2. in an untrusted workspace (Restricted Mode) nothing inside a workspace folder is loaded;
// 3. a job writes only inside the output folder it was given (and the extension's own storage).
import { existsSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SemBridgeError } from '../core/errors';

export interface PathContext {
  workspaceFolders: string[];
  trusted: boolean;
  home?: string;
}

/** Expands `~` and `${workspaceFolder}`; a relative path is taken from the first workspace folder. */
export function resolveSettingPath(raw: string, ctx: PathContext, settingKey: string): string {
  let p = raw.trim();
  if (!p) throw new SemBridgeError('is empty; choose a folder', settingKey);
  const ws = ctx.workspaceFolders[0];
  if (p.includes('${workspaceFolder}')) {
    if (!ws) throw new SemBridgeError('uses ${workspaceFolder} but no folder is open', settingKey);
    p = p.split('${workspaceFolder}').join(ws);
  }
  if (p === '~' || p.startsWith('~/')) p = join(ctx.home ?? homedir(), p.slice(1));
  if (p.startsWith('file://')) p = decodeURIComponent(p.slice('file://'.length));
  if (!isAbsolute(p)) {
    if (!ws) throw new SemBridgeError(`is relative (${raw}) but no workspace folder is open to resolve it against`, settingKey);
    p = resolve(ws, p);
  }
  return resolve(p);
}

/** The real path when it exists (symlinks resolved), else the resolved path. */
function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** True when `child` is `parent` or lies below it (after resolving symlinks of what exists). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(real(parent), real(child));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..'));
}

/** Explains why a model may not be loaded from here in Restricted Mode, or returns undefined. */
export function restrictedModeProblem(path: string, ctx: PathContext): string | undefined {
  if (ctx.trusted) return undefined;
  const inWorkspace = ctx.workspaceFolders.some((ws) => isInside(ws, path));
  return inWorkspace
    ? `${path} is inside the workspace, and this workspace is not trusted (Restricted Mode): SemBridge loads no model from an untrusted workspace. Trust the workspace (Manage Workspace Trust) or use a model outside it.`
    : undefined;
}

export type PathKind = 'folder' | 'file';

/** Resolves a setting path and checks it exists, has the right kind, and is allowed under trust rules. */
export function checkInputPath(raw: string, kind: PathKind, ctx: PathContext, settingKey: string): string {
  const p = resolveSettingPath(raw, ctx, settingKey);
  const restricted = restrictedModeProblem(p, ctx);
  if (restricted) throw new SemBridgeError(restricted, settingKey);
  if (!existsSync(p)) throw new SemBridgeError(`${p} does not exist`, settingKey);
  const st = statSync(p);
  if (kind === 'folder' && !st.isDirectory()) throw new SemBridgeError(`${p} is not a folder`, settingKey);
  if (kind === 'file' && !st.isFile()) throw new SemBridgeError(`${p} is not a file`, settingKey);
  return p;
}

/**
 * Checks a folder a job is about to write. It must not be one of the inputs or contain them
 * (a transfer into its own source model folder would overwrite the model it reads).
 */
export function checkOutputFolder(raw: string, inputs: string[], ctx: PathContext, settingKey = 'output folder'): string {
  const out = resolveSettingPath(raw, ctx, settingKey);
  if (!ctx.trusted && ctx.workspaceFolders.some((ws) => isInside(ws, out)))
    throw new SemBridgeError(`${out} is inside an untrusted workspace; SemBridge writes no model there in Restricted Mode`, settingKey);
  for (const input of inputs) {
    if (isInside(out, input) || isInside(input, out))
      throw new SemBridgeError(`${out} overlaps the input ${input}; choose a separate, new folder`, settingKey);
  }
  if (existsSync(out) && !statSync(out).isDirectory()) throw new SemBridgeError(`${out} exists and is not a folder`, settingKey);
  return out;
}

/** Joins `rel` under `root` and refuses anything that would land outside it (`..`, absolute parts). */
export function pathUnder(root: string, ...rel: string[]): string {
  const p = resolve(root, ...rel);
  if (!isInside(root, p)) throw new SemBridgeError(`${rel.join('/')} would leave ${root}`, 'output path');
  return p;
}

/** A short file-system-safe name for a folder (index and cache folders under global storage). */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(0, 80) || 'unnamed';
}
