// SemBridge-specific steps shared by the scenarios: command titles read from the manifest, the model
// settings, answering the prompts a command shows, and a transferred model for the scenarios that
// need one.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let manifest;
function contributes(repo) {
  manifest ??= JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  return manifest.contributes ?? {};
}

/**
 * The palette title ("Category: Title") of the contributed command whose title matches `re`.
 * Reading it from package.json keeps scenarios typing exactly what the user sees.
 */
export function commandTitle(repo, re) {
  const cmds = contributes(repo).commands ?? [];
  const c = cmds.find((x) => re.test(x.title) || re.test(`${x.category ?? ''}: ${x.title}`));
  if (!c) {
    const list = cmds.map((x) => `${x.category ? `${x.category}: ` : ''}${x.title}`).join('; ') || '(none)';
    throw new Error(`package.json contributes no command matching ${re}; it contributes: ${list}`);
  }
  return c.category ? `${c.category}: ${c.title}` : c.title;
}

/** The `sembridge.*` setting keys the extension declares. */
export function declaredSettings(repo) {
  const conf = contributes(repo).configuration;
  const blocks = Array.isArray(conf) ? conf : conf ? [conf] : [];
  return new Set(blocks.flatMap((b) => Object.keys(b.properties ?? {})));
}

/** Settings pointing the extension at the fixture models (only keys it declares). */
export function modelSettings(repo, paths, extra = {}) {
  const declared = declaredSettings(repo);
  const wanted = {
    'sembridge.sourceModel': paths.sourceModel,
    'sembridge.targetTokenizer': paths.targetTokenizer,
    'sembridge.bridgeModel': paths.bridgeModel,
    ...extra,
  };
  return Object.fromEntries(Object.entries(wanted).filter(([k]) => declared.has(k)));
}

/**
 * Answers whatever quick inputs a command shows, until `done()` is true. Each answer is
 * `{ match: RegExp, value?: string, pick?: string|RegExp, once?: boolean }` tested against the quick input's
 * title/placeholder/prompt; an unexpected prompt fails with its text, so a changed dialog is visible.
 */
export async function answerPrompts(t, answers, done, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  const seen = [];
  while (Date.now() < deadline) {
    if (await done()) return seen;
    const error = await t.wb.errorNotification();
    if (error) throw new Error(`error notification: "${error}" (after prompts: ${seen.join(' / ') || 'none'})`);
    const visible = await t.wb.quickInput.isVisible().catch(() => false);
    if (visible) {
      const text = await t.wb.describeQuickInput();
      const a = answers.find((x) => !x.used && x.match.test(text));
      if (!a) throw new Error(`unexpected prompt: "${text}" (answers known for ${answers.map((x) => x.match).join(', ')})`);
      if (a.once) a.used = true;
      if (seen.length > 12) throw new Error(`prompts keep coming: ${seen.join(' / ')}`);
      seen.push(text);
      t.log(`prompt "${text}" -> ${a.value ?? a.pick}`);
      if (a.pick) await t.wb.pick(a.pick);
      else await t.wb.answerQuickInput(a.value);
      await sleep(400);
      continue;
    }
    await sleep(200);
  }
  throw new Error(`timed out answering prompts (answered: ${seen.join(' / ') || 'none'})`);
}

/** Finds `name` anywhere below `dir` (the mapping sits in <model>/sembridge/mapping.jsonl). */
export function findFile(dir, name, depth = 3) {
  if (!existsSync(dir)) return undefined;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === name) return p;
    if (depth > 0 && statSync(p).isDirectory()) {
      const f = findFile(p, name, depth - 1);
      if (f) return f;
    }
  }
  return undefined;
}

/** Leftovers of an atomic write (`.<name>.tmp-*`) next to `outputDir`. */
export function tempLeftovers(outputDir) {
  const parent = join(outputDir, '..');
  const base = outputDir.split('/').pop();
  if (!existsSync(parent)) return [];
  return readdirSync(parent).filter((e) => e.startsWith(`.${base}.tmp-`));
}

/**
 * Runs "Transfer Encoder to Target Language…" through its prompts (models from the settings, method
 * sembridge, α 4, a new folder `name` under `parent`) and returns once the progress notification shows.
 * `bridgeDir` picks another bridge model through "Browse…" and the folder dialog.
 */
export async function startTransfer(t, parent, name, { bridgeDir } = {}) {
  const { repo } = t.paths;
  const bridge = bridgeDir
    ? [
        { match: /multilingual bridge/, pick: /Browse/, once: true },
        { match: /multilingual bridge/, value: `${bridgeDir}/`, once: true },
      ]
    : [{ match: /multilingual bridge/, pick: /from sembridge\.bridgeModel/ }];
  await t.wb.runCommand(commandTitle(repo, /^Transfer Encoder to Target Language/));
  const progress = transferProgress(t);
  await answerPrompts(
    t,
    [
      { match: /English source encoder/, pick: /from sembridge\.sourceModel/ },
      { match: /target-language tokenizer/, pick: /from sembridge\.targetTokenizer/ },
      ...bridge,
      { match: /initialisation method/, pick: /^\s*sembridge/ },
      { match: /α of α-entmax/, value: '4' },
      { match: /folder in which to create/, value: `${parent}/` },
      { match: /name of the new model folder/, value: name },
    ],
    () => progress.first().isVisible(),
    60_000,
  );
  return progress.first();
}

/** The model folder scenario 01 wrote, or a fresh transfer through the UI when it did not run. */
export async function ensureModel(t) {
  if (t.state.modelDir && findFile(t.state.modelDir, 'mapping.jsonl')) return t.state.modelDir;
  // one failed attempt is enough: later scenarios fail at once instead of each waiting for a transfer
  if (t.state.modelError) throw new Error(`no transferred model: ${t.state.modelError}`);
  try {
    return await transferForInspection(t);
  } catch (err) {
    t.state.modelError = String(err?.message ?? err).split('\n')[0];
    throw err;
  }
}

async function transferForInspection(t) {
  const parent = join(t.paths.runDir, 'models');
  mkdirSync(parent, { recursive: true });
  const name = 'ko-model-for-inspection';
  await startTransfer(t, parent, name);
  await t.wb.waitForNotification(/transferred model written to/, 240_000);
  await t.wb.runCommand('Notifications: Clear All Notifications');
  t.state.modelDir = join(parent, name);
  return t.state.modelDir;
}

/** The transfer's progress notification (the one with a Cancel button). */
export function transferProgress(t) {
  return t.wb.notification(/SemBridge: Transfer/).filter({ has: t.page.locator('.monaco-button', { hasText: /^Cancel$/ }) });
}

/** The `sembridge` CLI shipped inside the installed extension (dist/cli.js of the .vsix). */
export function installedCli(t) {
  const root = t.server.dirs.extensions;
  const ext = readdirSync(root).find((d) => d.startsWith('sembridge.sembridge-'));
  const cli = ext && join(root, ext, 'dist', 'cli.js');
  if (!cli || !existsSync(cli)) throw new Error(`the installed extension has no dist/cli.js under ${root}`);
  return cli;
}
