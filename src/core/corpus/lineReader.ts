// Streams the lines of a text file (optionally gzip-compressed), so corpora of millions of
// passages (MIRACL) never have to fit in one string. Lines are split on bytes and decoded one by one,
// so a line that is not valid UTF-8 is reported with its number instead of silently turned into
// U+FFFD, and a line above the size limit is skipped without being decoded.
import { createReadStream, promises as fs } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { SemBridgeError } from '../errors';

/** Lines longer than this are not read (a passage is truncated to a few hundred tokens anyway). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

export async function assertReadableFile(path: string, what: string): Promise<void> {
  let st;
  try {
    st = await fs.stat(path);
  } catch {
    throw new SemBridgeError(`${what} not found`, path);
  }
  if (!st.isFile()) throw new SemBridgeError(`${what} is not a file`, path);
}

/** Why a line could not be read as text; the line itself is then '' (too long) or decoded leniently. */
export type LineProblem = string | undefined;

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Yields [1-based line number, line, problem] triples; strips a UTF-8 BOM at the start of the file and
 * a trailing CR. `problem` is set for a line that is not valid UTF-8 or is over `maxLineBytes`.
 */
export async function* readLines(path: string, opts: { maxLineBytes?: number } = {}): AsyncGenerator<[number, string, LineProblem]> {
  const maxBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const raw = createReadStream(path);
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let n = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let oversize = 0; // bytes of the current line when it is over the limit (then nothing is kept)
  const finish = (): [number, string, LineProblem] => {
    n++;
    if (oversize) {
      const size = oversize;
      oversize = 0;
      return [n, '', `line of ${(size / 1048576).toFixed(1)} MiB is over the ${maxBytes / 1048576} MiB limit; skipped`];
    }
    let bytes = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (bytes.length && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    if (n === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    try {
      return [n, strict.decode(bytes), undefined];
    } catch {
      return [n, lenient.decode(bytes), 'not valid UTF-8'];
    }
  };
  const append = (b: Buffer) => {
    if (b.length === 0) return;
    if (oversize || pendingBytes + b.length > maxBytes) {
      oversize = (oversize || pendingBytes) + b.length;
      pending = [];
      pendingBytes = 0;
      return;
    }
    pending.push(b);
    pendingBytes += b.length;
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl < 0) break;
        append(chunk.subarray(start, nl));
        yield finish();
        start = nl + 1;
      }
      // copy the tail: the chunk buffer may be reused by the stream
      if (start < chunk.length) append(Buffer.from(chunk.subarray(start)));
    }
    if (pendingBytes > 0 || oversize) yield finish();
  } catch (err) {
    if (err instanceof SemBridgeError) throw err;
    throw new SemBridgeError(`could not read: ${(err as Error).message}`, path);
  } finally {
    raw.destroy();
  }
}
