// The inspector WebviewPanel: one at a time, restored after a reload by a serializer (the webview
// keeps its inputs with setState), resources limited to dist/webview and media.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import {
  HOST_COMMANDS,
  parseWebviewMessage,
  type HostToWebview,
  type NotificationMap,
  type NotificationMethod,
  type ViewName,
} from '../../protocol/inspectorProtocol';
import { errorCodeOf, type InspectorBackend } from './inspectorBackend';
import { inspectorHtml, makeNonce } from './webviewHtml';

export const INSPECTOR_VIEW_TYPE = 'sembridge.inspector';

export interface PanelLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export class InspectorPanel {
  private static current?: InspectorPanel;
  private ready = false;
  private readonly queue: HostToWebview[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  /** Shows the panel (creating it if needed) and optionally jumps to a view or a token. */
  static show(extensionUri: vscode.Uri, backend: InspectorBackend, log: PanelLog, target?: { view?: ViewName; tokenId?: number; text?: string }): InspectorPanel {
    let p = InspectorPanel.current;
    if (!p) {
      const panel = vscode.window.createWebviewPanel(INSPECTOR_VIEW_TYPE, 'SemBridge Inspector', vscode.ViewColumn.Beside, InspectorPanel.options(extensionUri));
      p = new InspectorPanel(panel, extensionUri, backend, log);
    } else p.panel.reveal(undefined, true);
    if (target) p.notify('view/show', { view: target.view ?? 'mapping', tokenId: target.tokenId, text: target.text });
    return p;
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, backend: InspectorBackend, log: PanelLog): InspectorPanel {
    panel.webview.options = InspectorPanel.options(extensionUri);
    return new InspectorPanel(panel, extensionUri, backend, log);
  }

  static get active(): InspectorPanel | undefined {
    return InspectorPanel.current;
  }

  private loads = 0;
  /** set by the controller: makes `name` the index Retrieval searches */
  static onSelectIndex?: (name: string) => Promise<void>;
  /** set by the controller: "Export Mapping…" of the rows of `query` */
  static onExportMapping?: (query: Record<string, unknown>, format: 'csv' | 'jsonl') => Promise<void>;
  private get onSelectIndex() {
    return InspectorPanel.onSelectIndex;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly backend: InspectorBackend,
    private readonly log: PanelLog,
  ) {
    InspectorPanel.current?.panel.dispose();
    InspectorPanel.current = this;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
    const webview = panel.webview;
    this.render();
    this.disposables.push(
      webview.onDidReceiveMessage((m) => void this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
      // a hidden panel's webview is torn down (no retainContextWhenHidden) and rebuilt on reveal;
      // until the new page says `webview/ready` again, notifications wait in the queue
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
    );
  }

  /** (Re)builds the page; a retry asks for the files again past any cached failure. */
  private render(): void {
    const webview = this.panel.webview;
    const n = this.loads++;
    const bust = n ? `?load=${n}` : '';
    const asUri = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...parts)).toString() + bust;
    this.ready = false;
    webview.html = inspectorHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('dist', 'webview', 'main.js'),
      styleUri: asUri('media', 'inspector.css'),
    });
  }

  notify<M extends NotificationMethod>(method: M, params: NotificationMap[M]): void {
    const msg: HostToWebview = { kind: 'notification', method, params };
    if (this.ready && this.panel.visible !== false) void this.post(msg);
    else this.enqueue(msg);
  }

  /** Only the newest preview and the newest view/show matter once the page is back. */
  private enqueue(msg: HostToWebview): void {
    if (msg.kind === 'notification' && (msg.method === 'selection/preview' || msg.method === 'view/show')) {
      const i = this.queue.findIndex((m) => m.kind === 'notification' && m.method === msg.method);
      if (i >= 0) this.queue.splice(i, 1);
    }
    this.queue.push(msg);
  }

  /** Posts; a message the webview did not take (it was being torn down) goes back to the queue. */
  private async post(msg: HostToWebview): Promise<void> {
    const delivered = await this.panel.webview.postMessage(msg);
    if (!delivered && msg.kind === 'notification') {
      this.ready = false;
      this.enqueue(msg);
    }
  }

  private async onMessage(raw: unknown): Promise<void> {
    const msg = parseWebviewMessage(raw);
    if (typeof msg === 'string') {
      this.log.warn(`inspector: ignored a message: ${msg}`);
      return;
    }
    if (msg.kind === 'request') {
      let reply: HostToWebview;
      try {
        reply = { kind: 'response', id: msg.id, ok: true, result: await this.backend.handle(msg) };
      } catch (err) {
        const code = errorCodeOf(err);
        reply = { kind: 'response', id: msg.id, ok: false, error: (err as Error).message, ...(code ? { code } : {}) };
      }
      void this.panel.webview.postMessage(reply);
      return;
    }
    switch (msg.method) {
      case 'webview/ready': {
        this.ready = true;
        for (const m of this.queue.splice(0)) void this.post(m);
        this.backend.warmUp();
        break;
      }
      case 'webview/retry': {
        this.log.warn('inspector: the page did not load; rebuilding it (Retry)');
        this.render();
        break;
      }
      case 'mapping/export': {
        const { query, format } = msg.params as { query: unknown; format: unknown };
        if ((format === 'csv' || format === 'jsonl') && query && typeof query === 'object' && InspectorPanel.onExportMapping) await InspectorPanel.onExportMapping(query as Record<string, unknown>, format);
        else this.log.warn(`inspector: refused an export request (format ${String(format)})`);
        break;
      }
      case 'index/select': {
        const name = (msg.params as { name: unknown }).name;
        if (typeof name === 'string' && this.onSelectIndex) await this.onSelectIndex(name);
        else this.log.warn(`inspector: refused to select index ${String(name)}`);
        break;
      }
      case 'retrieval/open': {
        const { path, line } = msg.params as { path: unknown; line?: unknown };
        if (typeof path !== 'string' || !this.backend.isOpenable(path)) {
          this.log.warn(`inspector: refused to open ${String(path)}: not a search result`);
          return;
        }
        if (!existsSync(path)) {
          void vscode.window.showWarningMessage(`SemBridge: cannot open ${path}: the file no longer exists`);
          return;
        }
        const ln = typeof line === 'number' && line >= 0 ? Math.floor(line) : 0;
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
        await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(ln, 0, ln, 0) });
        break;
      }
      case 'host/runCommand': {
        const command = (msg.params as { command: unknown }).command;
        if (typeof command === 'string' && (HOST_COMMANDS as readonly string[]).includes(command)) await vscode.commands.executeCommand(command);
        else this.log.warn(`inspector: refused to run command ${String(command)}`);
        break;
      }
    }
  }

  dispose(): void {
    if (InspectorPanel.current === this) InspectorPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
