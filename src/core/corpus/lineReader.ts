// Streams the lines of a text file (optionally gzip-compressed), so corpora of millions of
// passages (MIRACL) never have to fit in one string.
import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { SemBridgeError } from '../errors';

export async function assertReadableFile(path: string, what: string): Promise<void> {
  let st;
  try {
    st = await fs.stat(path);
  } catch {
    throw new SemBridgeError(`${what} not found`, path);
  }
  if (!st.isFile()) throw new SemBridgeError(`${what} is not a file`, path);
}

/** Yields [1-based line number, line] pairs; strips a UTF-8 BOM and a trailing CR. */
export async function* readLines(path: string): AsyncGenerator<[number, string]> {
  const raw = createReadStream(path);
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (let line of rl) {
      n++;
      if (n === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      yield [n, line];
    }
  } catch (err) {
    throw new SemBridgeError(`could not read: ${(err as Error).message}`, path);
  } finally {
    rl.close();
    raw.destroy();
  }
}
