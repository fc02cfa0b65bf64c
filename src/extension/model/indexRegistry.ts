// The corpus indexes under the extension's storage, each described by its manifest.json: which
// corpus and which model built it, so the Retrieval view can offer a picker and say when an index
// belongs to another model (and offer to rebuild it). No `vscode` import.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { IndexInfo } from '../../protocol/inspectorProtocol';
import { safeName } from '../paths';

/** An index's folder name: after its corpus and its model ("docs--bert-ko-sembridge"). */
export function indexNameFor(corpus: string, modelDir: string): string {
  return safeName(`${basename(corpus)}--${basename(modelDir)}`);
}

export function readIndexInfo(indexesDir: string, name: string, activeModel?: string): IndexInfo {
  const info: IndexInfo = { name };
  try {
    const m = JSON.parse(readFileSync(join(indexesDir, name, 'manifest.json'), 'utf8')) as { numDocs?: number; createdAt?: string; build?: Record<string, unknown> };
    info.documents = typeof m.numDocs === 'number' ? m.numDocs : undefined;
    info.createdAt = typeof m.createdAt === 'string' ? m.createdAt : undefined;
    info.corpus = typeof m.build?.corpusRoot === 'string' ? m.build.corpusRoot : undefined;
    info.model = typeof m.build?.model === 'string' ? m.build.model : undefined;
    info.workspaceFiles = typeof m.build?.files === 'number' ? m.build.files : undefined;
  } catch {
    info.problem = 'no readable manifest.json';
  }
  // the manifest's model hash is checked when searching; the path is what can be told here
  if (activeModel && info.model) info.otherModel = resolve(info.model) !== resolve(activeModel);
  return info;
}

export function listIndexes(indexesDir: string, activeModel?: string): IndexInfo[] {
  let names: string[];
  try {
    names = readdirSync(indexesDir).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
  return names.sort().map((n) => readIndexInfo(indexesDir, n, activeModel));
}
