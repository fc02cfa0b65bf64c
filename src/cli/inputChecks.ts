// Cheap checks of a path option before the heavy work starts, so that a wrong kind of file is named
// with the option it was given to (the core loaders only know the file).
import { promises as fs } from 'node:fs';
import { basename } from 'node:path';
import { SemBridgeError } from '../core/errors';

/** A model's config.json given where a tokenizer is expected. */
export async function checkTokenizerOption(path: string, option: string): Promise<void> {
  if (!path.endsWith('.json')) return;
  let json: unknown;
  try {
    const stat = await fs.stat(path);
    if (!stat.isFile() || stat.size > 1 << 20) return; // a real tokenizer.json; the loader reads it
    json = JSON.parse(await fs.readFile(path, 'utf8'));
  } catch {
    return; // the tokenizer loader reports unreadable files with their reason
  }
  if (!json || typeof json !== 'object' || Array.isArray(json) || 'model' in json) return;
  const o = json as Record<string, unknown>;
  if (basename(path) === 'config.json' || 'model_type' in o || 'architectures' in o || 'vocab_size' in o)
    throw new SemBridgeError(
      `${path} is a model configuration (config.json), not a tokenizer; expected a tokenizer folder, its tokenizer.json or its vocab.txt`,
      option,
    );
}
