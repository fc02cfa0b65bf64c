// The hover: answers from memory (the compact mapping and the cached line analyses) at once; when
// the line is not analysed yet it asks the worker for that one line and answers when it is done,
// unless that takes longer than FIRST_HOVER_WAIT_MS or the hover is cancelled (then nothing shows
// and the analysis still lands in the cache for the next hover).
import * as vscode from 'vscode';
import type { ModelSession } from '../model/modelSession';
import type { Settings } from '../settings';
import { hoverInfoAt, hoverMarkdown, OPEN_INSPECTOR_COMMAND } from './hoverContent';

const FIRST_HOVER_WAIT_MS = 1500;

export function provideSemBridgeHover(
  session: ModelSession,
  settings: Settings,
  document: vscode.TextDocument,
  position: vscode.Position,
  token?: vscode.CancellationToken,
): vscode.ProviderResult<vscode.Hover> {
  if (!settings.hoverEnabled || !settings.hoverLanguages.includes(document.languageId)) return undefined;
  if (!session.mapping) return undefined;
  const line = document.lineAt(position.line).text;
  if (session.lines.has(line)) return hoverFor(session, line, position);
  return waitForAnalysis(session.analyze([line]), token).then(() => (token?.isCancellationRequested ? undefined : hoverFor(session, line, position)));
}

function hoverFor(session: ModelSession, line: string, position: vscode.Position): vscode.Hover | undefined {
  const mapping = session.mapping;
  const info = mapping && hoverInfoAt(line, position.character, session.lines, mapping);
  if (!info) return undefined;
  const md = new vscode.MarkdownString(hoverMarkdown(info, session.modelName));
  // only the inspector command may run from this hover's links
  md.isTrusted = { enabledCommands: [OPEN_INSPECTOR_COMMAND] };
  md.supportHtml = false;
  return new vscode.Hover(md, new vscode.Range(position.line, info.start, position.line, info.end));
}

/** Resolves when the analysis is done, the hover is cancelled, or the wait runs out, whichever is first. */
function waitForAnalysis(analysis: Promise<void>, token?: vscode.CancellationToken): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(finish, FIRST_HOVER_WAIT_MS);
    const onCancel = token?.onCancellationRequested(finish);
    analysis.then(finish, finish);
    function finish(): void {
      clearTimeout(timer);
      onCancel?.dispose();
      resolve();
    }
  });
}

export function registerHover(session: ModelSession, settings: () => Settings): vscode.Disposable {
  return vscode.languages.registerHoverProvider(
    [{ scheme: 'file' }, { scheme: 'untitled' }],
    { provideHover: (document, position, token) => provideSemBridgeHover(session, settings(), document, position, token) },
  );
}
