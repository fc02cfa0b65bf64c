// Splits long documents into overlapping word windows. Encoders see a bounded number of tokens
// (SPLADE: 256-512), so a long file is indexed as several passages, each remembering its lines.
import { SemBridgeError } from '../errors';
import type { Passage } from './types';

export interface PassageWindow {
  /** words per passage */
  window: number;
  /** words between the starts of consecutive passages (≤ window, so passages overlap or touch) */
  stride: number;
}

export const DEFAULT_PASSAGE_WINDOW: PassageWindow = { window: 160, stride: 128 };

export function checkPassageWindow(w: PassageWindow): void {
  if (!Number.isInteger(w.window) || w.window < 1) throw new SemBridgeError(`must be a positive integer, got ${w.window}`, '--window');
  if (!Number.isInteger(w.stride) || w.stride < 1 || w.stride > w.window) {
    throw new SemBridgeError(`must be an integer between 1 and the window (${w.window}), got ${w.stride}`, '--stride');
  }
}

/** Line number (1-based) of each character offset, via the offsets where lines start. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/**
 * Splits `text` of the file `file` into passages `file#0`, `file#1`, … . Each passage keeps the
 * original characters between its first and last word (so line breaks and code layout survive)
 * and the 1-based inclusive line range. Text without words yields no passage.
 */
export function splitIntoPassages(file: string, text: string, w: PassageWindow = DEFAULT_PASSAGE_WINDOW, title?: string): Passage[] {
  checkPassageWindow(w);
  const words: { start: number; end: number }[] = [];
  const re = /\S+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) words.push({ start: m.index, end: m.index + m[0].length });
  if (words.length === 0) return [];
  const starts = lineStarts(text);
  const out: Passage[] = [];
  for (let first = 0; ; first += w.stride) {
    const last = Math.min(first + w.window, words.length) - 1;
    const from = words[first].start;
    const to = words[last].end;
    const p: Passage = {
      id: `${file}#${out.length}`,
      text: text.slice(from, to),
      source: { file, startLine: lineOf(starts, from), endLine: lineOf(starts, to - 1), passage: out.length },
    };
    if (title) p.title = title;
    out.push(p);
    if (last === words.length - 1) break;
  }
  return out;
}
