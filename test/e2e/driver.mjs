// Drives a real VS Code workbench for the end-to-end suite: code-server (VS Code 1.100.3 with a Node
// extension host) started on 127.0.0.1 with private folders, and Debian's Chromium driven by
// playwright-core. Installed by `.ci/setup-e2e.sh`; see docs/e2e.md.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CODE_SERVER_VERSION = '4.100.3';
export const CHROMIUM_PATH = process.env.SEMBRIDGE_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** Where `.ci/setup-e2e.sh` puts code-server (overridable with CODE_SERVER_BIN). */
export function codeServerBin() {
  if (process.env.CODE_SERVER_BIN) return process.env.CODE_SERVER_BIN;
  const root = process.env.SEMBRIDGE_E2E_CACHE ?? join(homedir(), '.cache', 'sembridge-e2e');
  return join(root, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
}

/** Rejects with a message naming `what` when `promise` takes longer than `ms`. */
export async function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${(ms / 1000).toFixed(0)} s: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Packages the extension with the project's own `npm run package` and returns the path of the
 * .vsix it produced (the newest one in `root` written after the call started).
 */
export function packageVsix(root, log) {
  const started = Date.now() - 1000;
  const r = spawnSync('npm', ['run', 'package'], { cwd: root, encoding: 'utf8', timeout: 10 * 60_000, env: process.env });
  log(`npm run package (exit ${r.status})\n${r.stdout}\n${r.stderr}`);
  if (r.status !== 0) throw new Error(`npm run package failed (exit ${r.status}):\n${(r.stderr || r.stdout).slice(-3000)}`);
  const fresh = readdirSync(root)
    .filter((f) => f.endsWith('.vsix'))
    .map((f) => ({ f: join(root, f), t: statSync(join(root, f)).mtimeMs }))
    .filter((x) => x.t >= started)
    .sort((a, b) => b.t - a.t);
  if (!fresh.length) throw new Error(`npm run package succeeded but wrote no new .vsix in ${root}`);
  return fresh[0].f;
}

/** One code-server process with its own user-data, extensions, XDG and temp folders under `runDir`. */
export class CodeServer {
  constructor(runDir, bin = codeServerBin()) {
    if (!existsSync(bin)) throw new Error(`code-server not found at ${bin}: run \`bash .ci/setup-e2e.sh\` first`);
    this.bin = bin;
    this.runDir = runDir;
    this.dirs = Object.fromEntries(
      ['userData', 'extensions', 'xdgConfig', 'xdgData', 'xdgCache', 'tmp'].map((k) => [k, join(runDir, k)]),
    );
    for (const d of Object.values(this.dirs)) mkdirSync(d, { recursive: true });
    this.logPath = join(runDir, 'code-server.log');
    this.child = undefined;
    this.port = undefined;
  }

  get settingsPath() {
    return join(this.dirs.userData, 'User', 'settings.json');
  }

  /** Writes the user settings.json; a running workbench picks the change up by itself. */
  writeSettings(settings) {
    mkdirSync(join(this.dirs.userData, 'User'), { recursive: true });
    writeFileSync(this.settingsPath, JSON.stringify(settings, null, 2));
  }

  /** The user settings as they are now (the extension itself writes some, e.g. sembridge.activeModel). */
  readSettings() {
    if (!existsSync(this.settingsPath)) return {};
    const text = readFileSync(this.settingsPath, 'utf8');
    try {
      return JSON.parse(text);
    } catch {
      // VS Code may write comments or trailing commas; strip them (settings values here hold no "//")
      return JSON.parse(text.replace(/^\s*\/\/.*$/gm, '').replace(/,(\s*[}\]])/g, '$1'));
    }
  }

  /** Merges `extra` into the user settings. */
  updateSettings(extra) {
    this.writeSettings({ ...this.readSettings(), ...extra });
  }

  env() {
    // Private XDG folders: otherwise code-server writes ~/.config/code-server and ~/.local/share/code-server.
    // TMPDIR keeps its sockets and caches inside the run folder too.
    return {
      ...process.env,
      XDG_CONFIG_HOME: this.dirs.xdgConfig,
      XDG_DATA_HOME: this.dirs.xdgData,
      XDG_CACHE_HOME: this.dirs.xdgCache,
      TMPDIR: this.dirs.tmp,
      ORT_DISABLE_TELEMETRY: '1',
    };
  }

  commonArgs() {
    return ['--user-data-dir', this.dirs.userData, '--extensions-dir', this.dirs.extensions];
  }

  installExtension(vsix) {
    const r = spawnSync(this.bin, [...this.commonArgs(), '--install-extension', vsix], {
      encoding: 'utf8',
      timeout: 120_000,
      env: this.env(),
    });
    const out = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0 || !/successfully installed/i.test(out)) {
      throw new Error(`installing ${vsix} into code-server failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${out.slice(-3000)}`);
    }
    return out.trim();
  }

  /** Starts the server in its own process group and waits (bounded) until /healthz answers. */
  async start() {
    this.port = await freePort();
    const logFd = openSync(this.logPath, 'a');
    const args = [
      ...this.commonArgs(),
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${this.port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
    ];
    // detached: a new session and process group, so stop() reaches the extension host, file watcher, pty host ...
    this.child = spawn(this.bin, args, { detached: true, stdio: ['ignore', logFd, logFd], env: this.env() });
    closeSync(logFd);
    let exited = null;
    this.exitPromise = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve((exited = { code, signal }))));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`code-server exited early (${JSON.stringify(exited)}); see ${this.logPath}`);
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    throw new Error(`code-server did not answer /healthz within 60 s; see ${this.logPath}`);
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  folderUrl(folder) {
    return `${this.url}/?folder=${encodeURIComponent(folder)}`;
  }

  /** Stops the whole process group: SIGTERM, then SIGKILL after 5 s. Safe to call twice. */
  async stop() {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    this.child = undefined;
    const pgid = child.pid;
    const groupAlive = () => {
      try {
        process.kill(-pgid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      return; // already gone
    }
    const deadline = Date.now() + 5000;
    while (groupAlive() && Date.now() < deadline) await sleep(100);
    if (groupAlive()) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* raced with exit */
      }
    }
    await bounded(this.exitPromise, 5000, 'code-server exit').catch(() => {});
  }
}

/**
 * Launches Debian's Chromium with a fresh profile and no background network traffic. `homeDir` gets
 * what Chromium writes outside its profile (crash-report settings, dconf).
 */
export async function launchBrowser(profileDir, homeDir) {
  mkdirSync(homeDir, { recursive: true });
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    env: { ...process.env, HOME: homeDir, XDG_CONFIG_HOME: join(homeDir, '.config'), XDG_CACHE_HOME: join(homeDir, '.cache') },
    viewport: { width: 1400, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}

/** What a user does in the workbench, each wait bounded. */
export class Workbench {
  constructor(page, server) {
    this.page = page;
    this.server = server;
  }

  async open(folder, readyFile) {
    await this.page.goto(this.server.folderUrl(folder), { timeout: 60_000 });
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    if (readyFile) await this.page.locator('.explorer-folders-view').getByText(readyFile, { exact: true }).first().waitFor({ timeout: 60_000 });
  }

  async reload(readyFile) {
    await this.page.reload({ timeout: 60_000 });
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    if (readyFile) await this.page.locator('.explorer-folders-view').getByText(readyFile, { exact: true }).first().waitFor({ timeout: 60_000 });
  }

  get quickInput() {
    return this.page.locator('.quick-input-widget');
  }

  get quickInputBox() {
    return this.page.locator('.quick-input-widget .quick-input-box input');
  }

  quickInputRows(hasText) {
    return this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', hasText ? { hasText } : {});
  }

  /**
   * Runs a command from the command palette by its full title ("Category: Title"). Retries: right after
   * load, extension commands can be missing from the first palette opened.
   */
  async runCommand(title, { attempts = 20 } = {}) {
    for (let i = 0; ; i++) {
      await this.page.keyboard.press('F1');
      await this.quickInputBox.waitFor({ timeout: 10_000 });
      await this.quickInputBox.fill(`>${title}`);
      const row = this.page
        .locator('.quick-input-widget .quick-input-list .monaco-list-row')
        .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) })
        .first();
      try {
        await row.waitFor({ timeout: 2000 });
        await row.click();
        return;
      } catch (err) {
        if (i >= attempts - 1) throw new Error(`command "${title}" not found in the command palette after ${attempts} tries`);
        await this.page.keyboard.press('Escape');
        await sleep(500);
      }
    }
  }

  /** Waits for a quick input (pick or input box) whose title, placeholder or prompt matches `re`. */
  async waitForQuickInput(re, timeout = 30_000) {
    await this.quickInput.filter({ visible: true }).waitFor({ timeout });
    if (!re) return;
    const deadline = Date.now() + timeout;
    for (;;) {
      const text = await this.describeQuickInput();
      if (re.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`quick input shows "${text}", expected ${re}`);
      await sleep(200);
    }
  }

  async describeQuickInput() {
    return this.page.evaluate(() => {
      const w = document.querySelector('.quick-input-widget');
      if (!w) return '';
      const title = w.querySelector('.quick-input-title')?.textContent ?? '';
      const input = w.querySelector('.quick-input-box input');
      const msg = w.querySelector('.quick-input-message')?.textContent ?? '';
      return [title, input?.getAttribute('placeholder') ?? '', input?.getAttribute('aria-label') ?? '', msg].join(' | ');
    });
  }

  /** Types `text` into the open quick input and accepts it. */
  async answerQuickInput(text) {
    await this.quickInputBox.fill(text);
    await sleep(150);
    await this.page.keyboard.press('Enter');
  }

  /** Picks the quick-pick row whose label contains `label`. */
  async pick(label, timeout = 15_000) {
    const row = this.quickInputRows(label).first();
    await row.waitFor({ timeout });
    await row.click();
  }

  /** A visible notification toast whose text matches `re`. */
  notification(re) {
    return this.page.locator('.notifications-toasts .notification-toast', { hasText: re });
  }

  /**
   * Waits for a toast matching `re`. An error toast that shows up meanwhile fails the wait at once
   * with its text (unless `re` is what is awaited or failOnError is false).
   */
  async waitForNotification(re, timeout = 60_000, { failOnError = true } = {}) {
    const toast = this.notification(re).first();
    const errors = this.page.locator('.notifications-toasts .notification-toast', {
      has: this.page.locator('.notification-list-item-icon.codicon-error'),
    });
    const deadline = Date.now() + timeout;
    for (;;) {
      if (await toast.isVisible().catch(() => false)) return toast;
      if (failOnError && (await errors.count()) > 0) {
        const text = (await errors.first().innerText().catch(() => '')).replace(/\s+/g, ' ');
        if (!re.test(text)) throw new Error(`error notification instead of ${re}: "${text}"`);
      }
      if (Date.now() > deadline) throw new Error(`no notification matching ${re} within ${Math.round(timeout / 1000)} s; shown: ${JSON.stringify(await this.notificationTexts())}`);
      await sleep(150);
    }
  }

  /** The text of the first error toast shown, or undefined. */
  async errorNotification() {
    const errors = this.page.locator('.notifications-toasts .notification-toast', {
      has: this.page.locator('.notification-list-item-icon.codicon-error'),
    });
    if ((await errors.count()) === 0) return undefined;
    return (await errors.first().innerText().catch(() => '')).replace(/\s+/g, ' ');
  }

  async notificationTexts() {
    return this.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
  }

  async clickNotificationButton(re, button, timeout = 30_000) {
    const toast = await this.waitForNotification(re, timeout);
    await toast.hover(); // buttons of progress toasts only take clicks once the toast is shown in full
    await toast.locator('.monaco-button', { hasText: button }).first().click({ timeout });
  }

  /** The content frame of the visible webview (webviews are two nested iframes). */
  webview() {
    return this.page
      .locator('iframe.webview.ready')
      .filter({ visible: true })
      .last()
      .contentFrame()
      .locator('#active-frame')
      .contentFrame();
  }

  /** Opens a workspace file with Quick Open (Ctrl+P) and waits until its tab is active. */
  async openFile(relPath, timeout = 30_000) {
    const name = relPath.split('/').pop();
    for (let i = 0; ; i++) {
      await this.page.keyboard.press('Control+P');
      await this.quickInputBox.waitFor({ timeout: 10_000 });
      await this.quickInputBox.fill(relPath);
      const row = this.quickInputRows(name).first();
      try {
        await row.waitFor({ timeout: 5000 });
        await row.click();
        break;
      } catch (err) {
        if (i >= 4) throw new Error(`Quick Open did not list ${relPath}`);
        await this.page.keyboard.press('Escape');
        await sleep(1000); // the file search index may still be building
      }
    }
    await this.activeTab(name).waitFor({ timeout });
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ timeout });
  }

  activeTab(name) {
    return this.page.locator('.tabs-container .tab.active', { hasText: name });
  }

  /** Screen rectangle of `word` in the active editor's rendered lines, or null. */
  async wordRect(word) {
    return this.page.evaluate((w) => {
      const editor = [...document.querySelectorAll('.editor-instance .monaco-editor')].find((e) => e.offsetParent !== null);
      if (!editor) return null;
      const walker = document.createTreeWalker(editor.querySelector('.view-lines'), NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        // Monaco renders spaces as U+00A0
        const i = n.textContent.replace(/\u00a0/g, ' ').indexOf(w);
        if (i < 0) continue;
        const range = document.createRange();
        range.setStart(n, i);
        range.setEnd(n, i + w.length);
        const r = range.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      }
      return null;
    }, word);
  }

  /** Moves the mouse over `word` in the active editor and returns the hover widget once it has content. */
  async hoverWord(word, timeout = 20_000) {
    const rect = await this.wordRect(word);
    if (!rect) throw new Error(`"${word}" is not visible in the active editor`);
    const hover = this.page.locator('.monaco-editor .monaco-hover:not(.hidden)').filter({ visible: true });
    const deadline = Date.now() + timeout;
    for (let dx = 0.3; ; dx = dx > 0.5 ? 0.3 : dx + 0.2) {
      await this.page.mouse.move(rect.x + rect.width * dx, rect.y + rect.height / 2, { steps: 4 });
      try {
        await hover.first().waitFor({ timeout: 4000 });
        return hover.first();
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`no hover appeared over "${word}"`);
        await this.page.mouse.move(5, 5); // leave and come back
        await sleep(300);
      }
    }
  }

  /** Selects `word` in the active editor by dragging across it. */
  async selectText(text) {
    const rect = await this.wordRect(text);
    if (!rect) throw new Error(`"${text}" is not visible in the active editor`);
    const y = rect.y + rect.height / 2;
    await this.page.mouse.move(rect.x + 1, y);
    await this.page.mouse.down();
    await this.page.mouse.move(rect.x + rect.width - 1, y, { steps: 5 });
    await this.page.mouse.up();
  }

  /** Clears editors, notifications and open quick inputs left by an earlier scenario. */
  async resetUi() {
    for (let i = 0; i < 3; i++) await this.page.keyboard.press('Escape');
    await this.runCommand('View: Close All Editors').catch(() => {});
    await this.runCommand('Notifications: Clear All Notifications').catch(() => {});
    await this.page.mouse.move(5, 5);
  }
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
