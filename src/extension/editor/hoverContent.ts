// What the hover shows for the word under the cursor, built only from data already in memory
// (the compact mapping and the line cache): it never waits for a worker or runs a model.
import { matchTypeOf, sourcesOf, type CompactMapping } from '../mapping/compactMapping';
import { weightIn, type LineCache } from '../model/lineCache';
import type { SourceWeight } from '../../protocol/inspectorProtocol';
import type { MatchType } from '../../core/types';

export interface HoverToken {
  id: number;
  token: string;
  match?: MatchType;
  sources: SourceWeight[];
  /** weight of the token in the line's sparse representation; undefined when the vector is not cached */
  lineWeight?: number;
}

export interface HoverInfo {
  word: string;
  start: number;
  end: number;
  tokens: HoverToken[];
  /** the line's vector is not cached yet (the encoder is still working, or is not available) */
  lineVectorMissing: boolean;
}

/** Looks up the word covering `character` in the cached analysis of `line`; undefined when not cached or not on a word. */
export function hoverInfoAt(line: string, character: number, cache: LineCache, mapping: CompactMapping, topSources = 5): HoverInfo | undefined {
  const analysis = cache.get(line);
  if (!analysis) return undefined;
  const word = analysis.words.find((w) => character >= w.start && character < w.end);
  if (!word) return undefined;
  return {
    word: line.slice(word.start, word.end),
    start: word.start,
    end: word.end,
    lineVectorMissing: !analysis.vector,
    tokens: word.ids.map((id) => ({
      id,
      token: mapping.tokens[id] ?? `[${id}]`,
      match: matchTypeOf(mapping, id),
      sources: sourcesOf(mapping, id, topSources),
      lineWeight: analysis.vector ? weightIn(analysis.vector, id) : undefined,
    })),
  };
}

/** Inline code that shows any token string literally (backticks, markdown and HTML inert). */
export function markdownCode(s: string): string {
  const visible = s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const longest = Math.max(0, ...(visible.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = visible.startsWith('`') || visible.endsWith('`') || visible === '' ? ' ' : '';
  return `${fence}${pad}${visible}${pad}${fence}`;
}

export const OPEN_INSPECTOR_COMMAND = 'sembridge.openInspector';

/** The `command:` URI of the hover's link; the extension trusts only this one command in hovers. */
export function openInspectorLink(tokenId: number): string {
  return `command:${OPEN_INSPECTOR_COMMAND}?${encodeURIComponent(JSON.stringify([{ tokenId }]))}`;
}

export function hoverMarkdown(info: HoverInfo, modelName: string): string {
  const lines: string[] = [];
  lines.push(`**SemBridge** · ${markdownCode(info.word)} → ${info.tokens.length} target token${info.tokens.length === 1 ? '' : 's'} · _${escapeMarkdownText(modelName)}_`);
  lines.push('');
  for (const t of info.tokens) {
    // a zero weight is "not active", never "weight in line 0.000"; others keep 3 significant digits
    const weight = t.lineWeight === undefined ? '' : t.lineWeight > 0 ? ` · weight in line **${significant(t.lineWeight)}**` : ' · not active in this line';
    lines.push(`${markdownCode(t.token)} — ${t.match ?? 'not in mapping'}${weight} · [inspect](${openInspectorLink(t.id)} "Open this token in the SemBridge inspector")`);
    if (t.sources.length) {
      lines.push('');
      lines.push('| source | weight | cosine |');
      lines.push('|---|---:|---:|');
      // a `|` splits a GFM table cell even inside a code span, unless escaped
      for (const s of t.sources) lines.push(`| ${markdownCode(s.token).replace(/\|/g, '\\|')} | ${significant(s.weight)} | ${s.cosine.toFixed(3)} |`);
    }
    lines.push('');
  }
  if (info.lineVectorMissing) lines.push('_The sparse representation of this line is not cached yet._');
  return lines.join('\n');
}

/** Three significant digits (0.0163, 0.513, 1.25): small weights stay distinguishable. */
export function significant(x: number): string {
  if (x === 0) return '0';
  return Math.abs(x) >= 0.1 ? x.toFixed(3) : x.toPrecision(3);
}

/** Escapes text placed outside code spans. */
export function escapeMarkdownText(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`);
}
