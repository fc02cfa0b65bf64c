// Keeps a folder index in step with the workspace: when files change, their old passages are
// removed and the new text is split and encoded again; deleted files just lose their passages.
// The index is touched only after every new passage is encoded, so a cancelled or failed update
// leaves it exactly as it was (an old passage is never dropped without its replacement).
import { promises as fs } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { corpusRelativePath, loadTextFilePassages, type FolderCorpusOptions } from '../corpus/folderCorpus';
import type { LoadProblem, Passage } from '../corpus/types';
import type { SparseEncoderLike } from '../encode/encoderTypes';
import type { CancelSignal, ProgressSink, SparseVector } from '../types';
import { SemBridgeError } from '../errors';
import { isSameOrInside, realPathLoose } from '../fsUtil';
import { encodeInBatches } from './buildIndex';
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
  const changed: string[] = [];
  const realRoot = realPathLoose(root);
  for (const f of files) {
    const abs = isAbsolute(f) ? f : join(root, f);
    // a file outside the corpus folder would enter the index as '../name' (symlinks resolved too)
    if (!isSameOrInside(realRoot, realPathLoose(abs)) || realPathLoose(abs) === realRoot)
      throw new SemBridgeError(`is outside the corpus folder ${root} that the index was built from; only files in that folder can be re-indexed`, f);
  }
  for (const f of files) {
    const abs = isAbsolute(f) ? f : join(root, f);
    changed.push(corpusRelativePath(root, abs));
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
  // encode everything first: cancellation throws here, before the live index changes
  const encoded: { passage: Passage; vector: SparseVector }[] = [];
  await encodeInBatches(encoder, fresh, {
    batchSize: opts.batchSize,
    onProgress: opts.onProgress,
    signal: opts.signal,
    onVectors: (batch, vectors) => batch.forEach((passage, i) => encoded.push({ passage, vector: vectors[i] })),
  });
  for (const rel of changed) report.removedPassages += index.removeFile(rel);
  for (const { passage, vector } of encoded) index.add(passage, vector);
  report.addedPassages = encoded.length;
  return report;
}
