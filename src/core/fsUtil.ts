import { promises as fs, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SemBridgeError } from './errors';

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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 text, refusing invalid bytes (instead of turning them into U+FFFD) with the line they are on. */
export function decodeUtf8Strict(bytes: Uint8Array, path: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // locate the first bad byte for the message: decode growing line prefixes
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x0a) {
        try {
          strictUtf8.decode(bytes.subarray(start, i));
        } catch {
          break;
        }
        line++;
        start = i + 1;
      }
    }
    throw new SemBridgeError(`is not valid UTF-8 text (line ${line})`, path);
  }
}
