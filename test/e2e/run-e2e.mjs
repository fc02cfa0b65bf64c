// End-to-end suite: packages the extension, installs it into a private code-server (real VS Code
// workbench + Node extension host), opens a scratch workspace in Debian's Chromium and runs every
// scenario in test/e2e/scenarios/ against one server. Prints one line per scenario and a closing
// "N passed, M failed" line; exits non-zero when anything failed.
//
//   node test/e2e/run-e2e.mjs [name-filter ...]       (npm run test:e2e)
// Environment: SEMBRIDGE_E2E_VSIX=path (skip packaging), SEMBRIDGE_E2E_KEEP=1 (keep the run folder),
// SEMBRIDGE_E2E_SCENARIO_DIR (another scenario folder: used to check the harness itself),
// CODE_SERVER_BIN / SEMBRIDGE_E2E_CACHE (where setup-e2e.sh installed code-server).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CodeServer, Workbench, bounded, launchBrowser, packageVsix } from './driver.mjs';
import { modelSettings } from './sembridge.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const resultsDir = join(repo, 'test-results', 'e2e');
const SUITE_LIMIT_MS = 20 * 60_000;

const baseSettings = {
  'workbench.startupEditor': 'none',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'workbench.tips.enabled': false,
  'chat.disableAIFeatures': true,
  'window.commandCenter': false,
  'workbench.editor.enablePreview': false,
  'editor.hover.delay': 200,
  'editor.minimap.enabled': false,
  'files.simpleDialog.enable': true, // folder/file dialogs become quick inputs a test can type paths into
  'git.enabled': false,
};

async function loadScenarios(filters) {
  const dir = process.env.SEMBRIDGE_E2E_SCENARIO_DIR ?? join(repo, 'test', 'e2e', 'scenarios');
  const files = readdirSync(dir).filter((f) => /^\d\d-.*\.mjs$/.test(f)).sort();
  const all = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(join(dir, f)).href);
    all.push({ file: f, id: f.replace(/\.mjs$/, ''), ...mod.scenario });
  }
  return filters.length ? all.filter((s) => filters.some((f) => s.id.includes(f))) : all;
}

/** The scratch workspace the workbench opens: copies of the fixture corpus, nothing else. */
function makeWorkspace(runDir) {
  const ws = join(runDir, 'workspace');
  mkdirSync(ws, { recursive: true });
  const corpus = join(repo, 'test', 'fixtures', 'corpus', 'ko-files');
  if (existsSync(corpus)) cpSync(corpus, join(ws, 'corpus'), { recursive: true });
  writeFileSync(join(ws, 'README.txt'), 'SemBridge end-to-end workspace\n');
  return ws;
}

async function main() {
  const filters = process.argv.slice(2);
  const suiteStart = Date.now();
  rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
  const logFile = join(resultsDir, 'e2e.log');
  const log = (msg) => appendFileSync(logFile, `[${new Date().toISOString()}] ${msg}\n`);

  const scenarios = await loadScenarios(filters);
  if (!scenarios.length) {
    console.log('no scenarios matched');
    console.log('0 passed, 1 failed');
    return 1;
  }

  const runDir = mkdtempSync(join(tmpdir(), 'sembridge-e2e-'));
  log(`run folder ${runDir}`);
  let server;
  let browser;
  const results = [];
  const stopAll = async () => {
    await bounded(browser?.close() ?? Promise.resolve(), 15_000, 'closing the browser').catch((e) => log(String(e)));
    browser = undefined;
    await server?.stop();
  };
  const onSignal = (sig) => {
    stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const t0 = Date.now();
    const vsix = process.env.SEMBRIDGE_E2E_VSIX ?? packageVsix(repo, log);
    const tPackage = Date.now();
    server = new CodeServer(runDir);
    const paths = {
      repo,
      runDir,
      workspace: makeWorkspace(runDir),
      sourceModel: join(repo, 'test', 'fixtures', 'models', 'bert-mlm-en'),
      targetTokenizer: join(repo, 'test', 'fixtures', 'tokenizers', 'ko-wordpiece'),
      bridgeModel: join(repo, 'test', 'fixtures', 'models', 'bridge-multilingual'),
    };
    // the sembridge.* model settings point at the fixture models, so the commands offer them as defaults
    server.writeSettings({ ...baseSettings, ...modelSettings(repo, paths) });
    log(server.installExtension(vsix));
    const tInstall = Date.now();
    await server.start();
    const tStart = Date.now();
    browser = await launchBrowser(join(runDir, 'chromium-profile'), join(runDir, 'chromium-home'));
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000); // every Playwright action and wait is bounded
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
    page.on('console', (m) => {
      if (m.type() === 'error') log(`console error: ${m.text()}`);
    });
    const wb = new Workbench(page, server);
    const state = {};
    await wb.open(paths.workspace, 'README.txt');
    console.log(
      `setup: package ${((tPackage - t0) / 1000).toFixed(1)} s, install ${((tInstall - tPackage) / 1000).toFixed(1)} s, ` +
        `server ${((tStart - tInstall) / 1000).toFixed(1)} s, workbench ${((Date.now() - tStart) / 1000).toFixed(1)} s`,
    );

    for (const sc of scenarios) {
      if (Date.now() - suiteStart > SUITE_LIMIT_MS) {
        results.push({ sc, ok: false, secs: 0, err: new Error('suite time limit reached before this scenario') });
        console.log(`FAIL ${sc.id} (0.0 s) - suite time limit reached`);
        continue;
      }
      let shots = 0;
      const t = {
        wb,
        page,
        server,
        paths,
        dialogs,
        state, // shared across scenarios (e.g. the model the transfer scenario wrote)
        log: (m) => log(`[${sc.id}] ${m}`),
        shot: async (label = '') => {
          shots++;
          const file = join(resultsDir, `${sc.id}${label ? `-${label}` : ''}.png`);
          await page.screenshot({ path: file, timeout: 15_000, animations: 'disabled' });
          return file;
        },
        /** Merges `extra` into the user settings.json and gives the workbench a moment to read it. */
        setSettings: async (extra) => {
          server.updateSettings(extra);
          await page.waitForTimeout(1000);
        },
      };
      const started = Date.now();
      let err;
      try {
        await wb.resetUi();
        const budget = Math.max(30_000, SUITE_LIMIT_MS - (Date.now() - suiteStart));
        await bounded(sc.run(t), Math.min(sc.timeoutMs ?? 120_000, budget), sc.id);
        if (shots === 0) await t.shot();
      } catch (e) {
        err = e;
        log(`[${sc.id}] FAILED: ${e.stack ?? e}`);
        await t.shot('failure').catch((e2) => log(`failure screenshot failed: ${e2}`));
        // A timed-out scenario may still be waiting on the page: reload to detach it.
        await wb.reload('README.txt').catch((e3) => log(`reload failed: ${e3}`));
      }
      const secs = (Date.now() - started) / 1000;
      results.push({ sc, ok: !err, secs, err });
      console.log(`${err ? 'FAIL' : 'PASS'} ${sc.id} (${secs.toFixed(1)} s)${err ? ` - ${firstLine(err)}` : ''}`);
    }
  } catch (e) {
    console.log(`setup failed: ${e.stack ?? e}`);
    log(`setup failed: ${e.stack ?? e}`);
    for (const sc of scenarios.filter((s) => !results.some((r) => r.sc === s))) {
      results.push({ sc, ok: false, secs: 0, err: e });
      console.log(`FAIL ${sc.id} (0.0 s) - setup failed`);
    }
  } finally {
    await stopAll();
    if (existsSync(server?.logPath ?? '')) copyFileSync(server.logPath, join(resultsDir, 'code-server.log'));
    copyExtensionHostLogs(runDir, resultsDir);
    if (process.env.SEMBRIDGE_E2E_KEEP) console.log(`run folder kept: ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }

  const failed = results.filter((r) => !r.ok);
  for (const r of failed) console.log(`\n--- ${r.sc.id}: ${r.err?.stack ?? r.err}`);
  console.log(`suite took ${((Date.now() - suiteStart) / 1000).toFixed(1)} s; screenshots and logs in ${resultsDir}`);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length ? 1 : 0;
}

function firstLine(err) {
  return String(err?.message ?? err).split('\n')[0].slice(0, 200);
}

/** Keeps the extension host's logs (our extension's output channel included) for failure analysis. */
function copyExtensionHostLogs(runDir, dest) {
  const logs = join(runDir, 'userData', 'logs');
  if (!existsSync(logs)) return;
  try {
    cpSync(logs, join(dest, 'vscode-logs'), { recursive: true });
  } catch {
    /* best effort */
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
