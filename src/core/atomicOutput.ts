import { rmSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SemBridgeError } from './errors';
import { acquireLock, isStaleOwner, type LockInfo } from './fileLock';
import { checkOutputTarget, outputKindOf, writeOutputMarker, type OutputTargetOptions } from './outputGuard';

/** The owner file inside a temporary output folder; removed just before the folder is renamed into place. */
export const TEMP_OWNER_FILE = '.sembridge-tmp.json';

export interface WriteFolderOptions extends OutputTargetOptions {
  /** messages about stale temporaries, locks and moved-aside folders (default: stderr) */
  onNotice?: (message: string) => void;
  /** wait this long for another run's lock on the same output (default 0: refuse at once) */
  lockWaitMs?: number;
}

const defaultNotice = (m: string) => console.error(`sembridge: ${m}`);

/** `.NAME.lock` beside the output. */
export function outputLockPath(finalDir: string): string {
  return join(dirname(finalDir), `.${basename(finalDir)}.lock`);
}

/**
 * Creates the parent folders of `finalDir`; the returned function removes again those it created
 * while they are still empty (a run that fails leaves no empty folder behind).
 */
export async function makeParent(finalDir: string): Promise<() => Promise<void>> {
  const parent = dirname(resolve(finalDir));
  const first = await fs.mkdir(parent, { recursive: true });
  return async () => {
    if (!first) return;
    for (let d = parent; d.length >= first.length; d = dirname(d)) {
      try {
        await fs.rmdir(d);
      } catch {
        return; // not empty (or gone): keep it and everything above
      }
      if (d === first) return;
    }
  };
}

/** Takes the output's lock (see fileLock.ts); nested calls in this process share it. */
export function lockOutput(finalDir: string, opts: { waitMs?: number; onNotice?: (m: string) => void } = {}) {
  return acquireLock(outputLockPath(finalDir), { waitMs: opts.waitMs, subject: finalDir, onNotice: opts.onNotice });
}

// Temporary folders this process is writing: a second Ctrl-C (process.exit) removes them on the way out.
const liveTemps = new Set<string>();
let exitHook = false;
function trackTemp(dir: string): void {
  liveTemps.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const d of liveTemps) rmSync(d, { recursive: true, force: true });
  });
}

async function readOwner(dir: string): Promise<LockInfo | undefined> {
  try {
    const v = JSON.parse(await fs.readFile(join(dir, TEMP_OWNER_FILE), 'utf8')) as LockInfo;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

async function sizeOf(p: string): Promise<number> {
  const st = await fs.lstat(p).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of await fs.readdir(p).catch(() => [] as string[])) n += await sizeOf(join(p, e));
  return n;
}

const mib = (b: number) => `${(b / 1048576).toFixed(b < 1048576 ? 2 : 0)} MiB`;

/**
 * Temporary folders of earlier runs beside `finalDir` (`.NAME.tmp-XXXXXX`, and `.old` backups of a run
 * killed between its two renames). One whose owner file names a process that is gone is removed; one
 * without an owner file (an older version, or a kill in the instant after mkdtemp) is only reported.
 * A backup is put back when the output itself is missing, and removed when it is an output of ours.
 */
export async function cleanStaleTemps(finalDir: string, onNotice: (m: string) => void = defaultNotice): Promise<void> {
  const parent = dirname(finalDir);
  const prefix = `.${basename(finalDir)}.tmp-`;
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(prefix)).sort()) {
    const p = join(parent, name);
    if (liveTemps.has(p) || liveTemps.has(p.replace(/\.old$/, ''))) continue;
    if (name.endsWith('.old')) {
      const outExists = await fs.lstat(finalDir).then(() => true, () => false);
      if (!outExists) {
        await fs.rename(p, finalDir);
        onNotice(`restored ${finalDir} from ${p} (a run was killed while replacing it)`);
      } else if (await outputKindOf(p)) {
        await fs.rm(p, { recursive: true, force: true });
        onNotice(`removed ${p}, the previous output left by a killed run`);
      } else onNotice(`found ${p} (${mib(await sizeOf(p))}) left by a killed run; it is not a SemBridge output, so it was kept: remove it yourself`);
      continue;
    }
    const owner = await readOwner(p);
    if (owner && isStaleOwner(owner)) {
      const size = await sizeOf(p);
      await fs.rm(p, { recursive: true, force: true });
      onNotice(`removed ${p} (${mib(size)}), a temporary folder left by a killed run (pid ${owner.pid})`);
    } else if (!owner) {
      onNotice(`found ${p} (${mib(await sizeOf(p))}), a temporary folder of an earlier run; remove it yourself if no other sembridge run is writing ${finalDir}`);
    }
  }
}

/**
 * Runs `write` against a fresh temporary folder next to `finalDir`, then renames it into place.
 * Before anything is written, `finalDir` is checked by the output rules (outputGuard.ts), the output's
 * lock is taken and stale temporaries of killed runs are cleaned. A failed or cancelled write removes
 * the temporary folder. The new folder gets the output marker; an existing output is renamed aside,
 * the new one renamed in, and only then the old one removed, and only when it was ours (with `force`,
 * a folder that was not ours is kept beside as NAME.replaced-TIME).
 */
export async function writeFolderAtomically<T>(finalDir: string, write: (tmpDir: string) => Promise<T>, opts: WriteFolderOptions): Promise<T> {
  const notice = opts.onNotice ?? defaultNotice;
  await checkOutputTarget(finalDir, opts);
  const parent = dirname(finalDir);
  const undoParent = await makeParent(finalDir);
  let lock;
  try {
    lock = await lockOutput(finalDir, { waitMs: opts.lockWaitMs, onNotice: notice });
  } catch (err) {
    await undoParent();
    throw err;
  }
  let tmpDir: string | undefined;
  let placed = false;
  try {
    await cleanStaleTemps(finalDir, notice);
    tmpDir = await fs.mkdtemp(join(parent, `.${basename(finalDir)}.tmp-`));
    trackTemp(tmpDir);
    const owner: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    await fs.writeFile(join(tmpDir, TEMP_OWNER_FILE), JSON.stringify(owner) + '\n');
    const result = await write(tmpDir);
    await writeOutputMarker(tmpDir, opts.kind);
    await fs.rm(join(tmpDir, TEMP_OWNER_FILE), { force: true });
    // the same rules again, in case the folder appeared or changed while we wrote
    const state = await checkOutputTarget(finalDir, opts);
    let backup: string | undefined;
    if (state.exists) {
      backup = state.ours ? `${tmpDir}.old` : `${finalDir}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await fs.rename(finalDir, backup);
    }
    try {
      await fs.rename(tmpDir, finalDir);
    } catch (err) {
      if (backup) await fs.rename(backup, finalDir).catch(() => undefined);
      throw new SemBridgeError(`could not move the new output into place: ${(err as Error).message}`, finalDir);
    }
    liveTemps.delete(tmpDir);
    placed = true;
    if (backup && state.exists && state.ours) await fs.rm(backup, { recursive: true, force: true });
    else if (backup) notice(`${finalDir} was not a SemBridge output; its previous contents were moved to ${backup} (--force)`);
    return result;
  } catch (err) {
    if (tmpDir && liveTemps.has(tmpDir)) {
      await fs.rm(tmpDir, { recursive: true, force: true });
      liveTemps.delete(tmpDir);
    }
    throw err;
  } finally {
    await lock.release();
    if (!placed) await undoParent();
  }
}

/** Writes one file through a temporary sibling and a rename. */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw new SemBridgeError(`could not write: ${(err as Error).message}`, path);
  }
}
