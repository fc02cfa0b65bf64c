import { promises as fs } from 'node:fs';
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
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw new SemBridgeError(`cannot read: ${(err as Error).message}`, path);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new SemBridgeError(`is not valid JSON: ${(err as Error).message}`, path);
  }
}
