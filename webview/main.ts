// Webview entry (bundled to dist/webview/main.js): defines the @vscode-elements components it
// uses and starts the inspector app against the VS Code webview API.
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { InspectorApp, type WebviewApi } from './app';
import type { HostToWebview } from '../src/protocol/inspectorProtocol';

declare function acquireVsCodeApi(): WebviewApi;

const root = document.getElementById('app');
if (root) {
  const app = new InspectorApp(root, acquireVsCodeApi());
  window.addEventListener('message', (e: MessageEvent<HostToWebview>) => app.receive(e.data));
  app.start();
}
