// "Preview Sparse Representation of Selection": encodes the selected text in the worker and shows
// the top terms as an inline decoration after the selection (can be turned off with
// sembridge.preview.decorations or cleared with "SemBridge: Clear Selection Preview") and in the
// inspector's expansion view.
import * as vscode from 'vscode';
import type { ModelSession } from '../model/modelSession';
import { withoutSpecialTerms } from '../panel/inspectorBackend';
import { isSpecialToken, type ExpansionResult, type SparseSummary } from '../../protocol/inspectorProtocol';

export function decorationText(s: SparseSummary, terms = 6): string {
  const top = s.terms
    .filter((t) => !isSpecialToken(t.token))
    .slice(0, terms)
    .map((t) => `${t.token} ${t.weight.toFixed(2)}`)
    .join(' · ');
  return ` ⟶ ${top}${s.terms.length > terms ? ' …' : ''} (${s.activeDims} dims, FLOPS ${Number(s.flops.toPrecision(3))})`;
}

export class SelectionPreview implements vscode.Disposable {
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic', margin: '0 0 0 1em' },
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private decorated?: vscode.TextEditor;
  /** bumped per preview: an answer for an older selection that arrives late is dropped */
  private seq = 0;

  constructor(
    private readonly session: Pick<ModelSession, 'encode'>,
    private readonly decorationsEnabled: () => boolean,
    /** encodes with sembridge.sourceModel; throws, saying why, when that model is unset or unusable */
    private readonly encodeWithSource?: (text: string) => Promise<SparseSummary>,
  ) {}

  async previewActiveSelection(show: (r: ExpansionResult) => Promise<void>): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) throw new Error('open a text editor and select some text first');
    const sel = editor.selection;
    const text = editor.document.getText(sel.isEmpty ? editor.document.lineAt(sel.active.line).range : sel);
    if (!text.trim()) throw new Error('the selection is empty');
    const seq = ++this.seq;
    // the English side is optional: its failure is shown in the expansion view, not raised
    const source = this.encodeSource(text);
    const [summary] = await this.session.encode([text]);
    const sourcePart = await source;
    if (seq !== this.seq) return; // a newer selection was previewed meanwhile
    this.clear();
    if (this.decorationsEnabled()) {
      const end = sel.isEmpty ? editor.document.lineAt(sel.active.line).range.end : sel.end;
      editor.setDecorations(this.decoration, [{ range: new vscode.Range(end, end), renderOptions: { after: { contentText: decorationText(summary) } } }]);
      this.decorated = editor;
    }
    await show({ text, target: withoutSpecialTerms(summary), ...sourcePart, ...(sourcePart.source ? { source: withoutSpecialTerms(sourcePart.source) } : {}) });
  }

  private async encodeSource(text: string): Promise<Pick<ExpansionResult, 'source' | 'sourceMissing'>> {
    if (!this.encodeWithSource) return { sourceMissing: 'set sembridge.sourceModel to compare with the English model' };
    try {
      return { source: await this.encodeWithSource(text) };
    } catch (err) {
      return { sourceMissing: (err as Error).message };
    }
  }

  /** "Clear Selection Preview": also drops a preview still being encoded, so it does not appear after the clear. */
  clearAll(): void {
    this.seq++;
    this.clear();
  }

  clear(): void {
    this.decorated?.setDecorations(this.decoration, []);
    this.decorated = undefined;
  }

  dispose(): void {
    this.clear();
    this.decoration.dispose();
  }
}
