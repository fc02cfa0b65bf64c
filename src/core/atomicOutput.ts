import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SemBridgeError } from './errors';

/**
 * Runs `write` against a fresh temporary folder next to `finalDir`, then renames it into place.
 * A failed or cancelled write removes the temporary folder, so nothing half-written is left, and
 * an existing output is only replaced after the new one is complete.
 */
export async function writeFolderAtomically<T>(finalDir: string, write: (tmpDir: string) => Promise<T>): Promise<T> {
  const parent = dirname(finalDir);
  await fs.mkdir(parent, { recursive: true });
  const tmpDir = await fs.mkdtemp(join(parent, `.${basename(finalDir)}.tmp-`));
  try {
    const result = await write(tmpDir);
    let backup: string | undefined;
    try {
      await fs.access(finalDir);
      backup = `${tmpDir}.old`;
      await fs.rename(finalDir, backup);
    } catch {
      /* no previous output */
    }
    await fs.rename(tmpDir, finalDir);
    if (backup) await fs.rm(backup, { recursive: true, force: true });
    return result;
  } catch (err) {
    await fs.rm(tmpDir, { recursive: true, force: true });
    throw err;
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
