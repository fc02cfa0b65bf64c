// The inspector's HTML shell: a strict Content-Security-Policy (nothing remote, scripts only with
// this load's nonce, styles only from the extension), one script and one stylesheet from the
// extension's own folders. All content is built by the script with text nodes.
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

export interface ShellOptions {
  /** webview.cspSource */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
  /** how long the page waits for its script before it offers a Retry (ms) */
  loadTimeoutMs?: number;
}

/** The shell waits this long for dist/webview/main.js to start before it says so and offers Retry. */
export const LOAD_TIMEOUT_MS = 10_000;

/**
 * The loader guard, inline with this load's nonce: when the app script or the stylesheet fails to
 * load (an error event), or the app has not started after the timeout, the "Loading…" line becomes
 * a message with a Retry button that asks the host to rebuild the page. Text only, no markup.
 */
function loaderGuard(timeoutMs: number): string {
  return `(function () {
  var failed = false;
  function fail(why) {
    var app = document.getElementById('app');
    if (failed || !app || app.getAttribute('data-state') !== 'loading') return;
    failed = true;
    app.setAttribute('data-state', 'failed');
    app.setAttribute('role', 'alert');
    app.textContent = 'The SemBridge inspector did not load (' + why + '). ';
    var b = document.createElement('button');
    b.id = 'inspector-retry';
    b.textContent = 'Retry';
    b.addEventListener('click', function () {
      b.disabled = true;
      b.textContent = 'Retrying…';
      try { acquireVsCodeApi().postMessage({ kind: 'command', method: 'webview/retry', params: {} }); } catch (e) { location.reload(); }
    });
    app.appendChild(b);
  }
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && (t.tagName === 'SCRIPT' || t.tagName === 'LINK')) fail((t.tagName === 'SCRIPT' ? 'its script' : 'its stylesheet') + ' could not be read');
  }, true);
  setTimeout(function () { fail('its script did not start within ${Math.round(timeoutMs / 1000)} s'); }, ${Math.max(0, Math.floor(timeoutMs))});
})();`;
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `img-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'none'",
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function inspectorHtml(o: ShellOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<script nonce="${attr(o.nonce)}">${loaderGuard(o.loadTimeoutMs ?? LOAD_TIMEOUT_MS)}</script>
<link rel="stylesheet" href="${attr(o.styleUri)}">
<title>SemBridge Inspector</title>
</head>
<body>
<div id="app" data-state="loading">Loading the SemBridge inspector…</div>
<script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>`;
}
