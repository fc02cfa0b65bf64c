// An exclusive lock file beside an output (`.NAME.lock`), so that two runs never write one output at
// once (two `index --update` runs would each read the old index and the last save would drop the
// other's files). Created with O_EXCL; it holds pid, host and start time, so a lock left by a killed
// run (its pid no longer alive on this host) is taken over, with a message.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { SemBridgeError } from './errors';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command?: string;
}

export interface LockOptions {
  /** how long to wait for a live holder before refusing (default 0: refuse at once) */
  waitMs?: number;
  /** what the lock protects, for messages (default: the lock path) */
  subject?: string;
  onNotice?: (message: string) => void;
}

export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

/** Locks this process holds (path → depth), so a nested acquire of the same lock succeeds. */
const held = new Map<string, { info: LockInfo; depth: number }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // a second Ctrl-C calls process.exit: do not leave our locks behind
  process.on('exit', () => {
    for (const [path, h] of held) if (sameOwner(readLockSync(path), h.info)) tryUnlinkSync(path);
  });
}

function tryUnlinkSync(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* already gone */
  }
}

function readLockSync(path: string): LockInfo | undefined | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as LockInfo;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? v : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function sameOwner(a: LockInfo | undefined | 'unreadable', b: LockInfo): boolean {
  return typeof a === 'object' && a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt;
}

/** Whether a process with this pid runs on this machine (EPERM: it runs, as another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock is stale when its holder ran on this host and is gone. */
export function isStaleOwner(info: { pid: number; host: string }): boolean {
  return info.host === hostname() && !pidAlive(info.pid);
}

function tryCreate(path: string, info: LockInfo): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new SemBridgeError(`cannot create the lock file: ${(err as Error).message}`, path);
  }
  try {
    writeSync(fd, JSON.stringify(info) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock. A second lock (`.takeover`, also O_EXCL) makes sure that of two runs that
 * both found the same stale lock, only one removes it, and never the fresh lock of the other.
 */
function takeOver(path: string, stale: LockInfo | 'unreadable'): boolean {
  const meta = `${path}.takeover`;
  const me: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  if (!tryCreate(meta, me)) {
    const other = readLockSync(meta);
    if (typeof other === 'object' && isStaleOwner(other)) tryUnlinkSync(meta);
    return false;
  }
  try {
    const now = readLockSync(path);
    const unchanged = stale === 'unreadable' ? now === 'unreadable' : sameOwner(now, stale);
    if (unchanged) tryUnlinkSync(path);
    return unchanged;
  } finally {
    tryUnlinkSync(meta);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describe(info: LockInfo): string {
  return `pid ${info.pid} on ${info.host}, since ${info.startedAt}${info.command ? `: ${info.command}` : ''}`;
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<HeldLock> {
  const mine = held.get(path);
  if (mine) {
    mine.depth++;
    return { path, release: async () => releaseLock(path) };
  }
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: process.argv.slice(2, 3).join(' ') || undefined };
  const subject = opts.subject ?? path;
  const deadline = Date.now() + (opts.waitMs ?? 0);
  const notice = opts.onNotice ?? ((m: string) => console.error(`sembridge: ${m}`));
  let waited = false;
  let unreadableSince: number | undefined;
  for (;;) {
    if (tryCreate(path, info)) break;
    const other = readLockSync(path);
    if (other === undefined) continue; // released in between
    if (other === 'unreadable') {
      // being written this very moment, or left empty by a kill; give it a few seconds
      unreadableSince ??= Date.now();
      const st = await fs.stat(path).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 5000 && takeOver(path, 'unreadable')) notice(`removed an unreadable stale lock ${path}`);
      else await sleep(100);
      continue;
    }
    unreadableSince = undefined;
    if (isStaleOwner(other)) {
      if (takeOver(path, other)) notice(`took over the lock of a run that is gone (${describe(other)}): ${path}`);
      else await sleep(50); // another run is taking it over this very moment
      continue;
    }
    if (Date.now() < deadline) {
      if (!waited) notice(`${subject} is locked by another run (${describe(other)}); waiting up to ${Math.ceil((deadline - Date.now()) / 1000)} s`);
      waited = true;
      await sleep(200);
      continue;
    }
    throw new SemBridgeError(
      `is being written by another sembridge run (${describe(other)})${waited ? ', still after waiting' : ''}; wait for it to finish, or delete ${path} if that run is gone`,
      subject,
    );
  }
  held.set(path, { info, depth: 1 });
  installExitHook();
  return { path, release: async () => releaseLock(path) };
}

async function releaseLock(path: string): Promise<void> {
  const h = held.get(path);
  if (!h) return;
  if (--h.depth > 0) return;
  held.delete(path);
  if (sameOwner(readLockSync(path), h.info)) tryUnlinkSync(path);
}

export async function withLock<T>(path: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** The lock wait in ms: SEMBRIDGE_LOCK_WAIT_S (seconds) when set, else `fallbackMs`. */
export function lockWaitMs(fallbackMs: number): number {
  const v = process.env.SEMBRIDGE_LOCK_WAIT_S;
  const n = v === undefined || v.trim() === '' ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n * 1000 : fallbackMs;
}
