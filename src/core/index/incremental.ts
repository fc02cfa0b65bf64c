// Keeps a folder index in step with the workspace: when files change, their old passages are
// removed and the new text is split and encoded again; deleted files just lose their passages.
import { promises as fs } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { corpusRelativePath, loadTextFilePassages, type FolderCorpusOptions } from '../corpus/folderCorpus';
import type { LoadProblem, Passage } from '../corpus/types';
import type { SparseEncoderLike } from '../encode/encoderTypes';
import type { CancelSignal, ProgressSink } from '../types';
import { buildIndex } from './buildIndex';
import type { SparseIndex } from './sparseIndex';

export interface UpdateReport {
  removedPassages: number;
  addedPassages: number;
  filesUpdated: number;
  filesRemoved: number;
  problems: LoadProblem[];
}

/**
 * Re-indexes `files` (absolute, or relative to `root`) of a folder corpus. A file that no longer
 * exists is removed from the index; one that does is re-read and its passages replaced.
 */
export async function updateFolderIndex(
  index: SparseIndex,
  encoder: SparseEncoderLike,
  root: string,
  files: string[],
  opts: FolderCorpusOptions & { batchSize?: number; onProgress?: ProgressSink; signal?: CancelSignal } = {},
): Promise<UpdateReport> {
  index.assertCompatible({ modelHash: encoder.modelHash, vocabSize: encoder.vocabSize });
  const report: UpdateReport = { removedPassages: 0, addedPassages: 0, filesUpdated: 0, filesRemoved: 0, problems: [] };
  const fresh: Passage[] = [];
  for (const f of files) {
    const abs = isAbsolute(f) ? f : join(root, f);
    const rel = corpusRelativePath(root, abs);
    report.removedPassages += index.removeFile(rel);
    const exists = await fs.stat(abs).then((s) => s.isFile(), () => false);
    if (!exists) {
      report.filesRemoved++;
      continue;
    }
    const { passages, problem } = await loadTextFilePassages(root, abs, opts);
    if (problem) report.problems.push(problem);
    fresh.push(...passages);
    report.filesUpdated++;
  }
  await buildIndex(encoder, fresh, { into: index, batchSize: opts.batchSize, onProgress: opts.onProgress, signal: opts.signal });
  report.addedPassages = fresh.length;
  return report;
}
