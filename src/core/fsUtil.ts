import { promises as fs } from 'node:fs';

/** Whether a file or folder exists (any access error counts as absent). */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
