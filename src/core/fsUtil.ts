import { promises as fs, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SemBridgeError } from './errors';
import { firstInvalidUtf8 } from './tokens/canonical';

/** Whether a file or folder exists (any access error counts as absent). */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Reads and parses a JSON file, naming the file in any error. */
export async function readJsonFile<T = Record<string, unknown>>(path: string): Promise<T> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    throw new SemBridgeError(`cannot read: ${(err as Error).message}`, path);
  }
  const text = decodeUtf8Strict(bytes, path);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new SemBridgeError(`is not valid JSON: ${(err as Error).message}`, path);
  }
}

/**
 * The real path of `p` (symlinks resolved) even when `p` does not exist yet: the deepest existing
 * ancestor is resolved and the rest appended, so an output folder can be compared with its inputs.
 */
export function realPathLoose(p: string): string {
  let head = resolve(p);
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync.native(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return join(head, ...tail.reverse());
      tail.push(basename(head));
      head = up;
    }
  }
}

/** Whether `child` is `parent` or lies inside it (plain path comparison; resolve real paths first). */
export function isSameOrInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The bytes as text; invalid UTF-8 is refused with its line (Node would put U+FFFD in silently).
 * A leading byte-order mark is kept, as Python's "utf-8" codec keeps it.
 */
export function decodeUtf8Strict(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const at = Math.max(0, firstInvalidUtf8(bytes));
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    throw new SemBridgeError(`invalid UTF-8 at line ${line} (byte offset ${at})`, path);
  }
}
