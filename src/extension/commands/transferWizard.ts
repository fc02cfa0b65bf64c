// "SemBridge: Transfer Encoder to Target Language…": asks for the three inputs, the method, α and
// an output folder (each defaulting to its setting), checks them, and returns the job's inputs.
// Any field given as a command argument skips its question (used by tests and the walkthrough).
import * as vscode from 'vscode';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { INIT_METHODS, type InitMethod } from '../../core/types';
import { ALPHA_RANGE, type Settings } from '../settings';
import { checkFolderFor, type FolderRole } from './folderChecks';
import { checkInputPath, checkOutputFolder, type PathContext } from '../paths';
import type { TransferChoice } from '../worker/operations';

export interface TransferArgs extends TransferChoice {
  /** make the result the active model (default true) */
  activate?: boolean;
}

const METHOD_HELP: Record<InitMethod, string> = {
  sembridge: 'α-entmax over bridge cosines to all source tokens (the paper)',
  focus: 'FOCUS: sparsemax over overlapping tokens',
  'topk-softmax': 'softmax over the k most similar source tokens',
  random: 'random rows (a baseline)',
  mean: 'mean of all source rows (a baseline)',
  gaussian: 'samples from a Gaussian fitted per dimension',
  'multivariate-gaussian': 'samples from a multivariate Gaussian of the source rows',
  'overlap-only': 'copy exact matches; every other new row is zeros (bias 0), as the paper\'s code starts',
};

const BACK = '$(arrow-left) Back';

/** What a step returns: a value, Back (one step up), or undefined (Escape: the wizard ends). */
type StepResult<T> = { value: T } | 'back' | undefined;

async function pickModelPath(
  what: string,
  settingKey: string,
  current: string,
  demo: string | undefined,
  ctx: PathContext,
  step: string,
  canGoBack: boolean,
): Promise<StepResult<string>> {
  type Item = vscode.QuickPickItem & { value: string };
  const items: Item[] = [];
  if (current) items.push({ label: `$(settings-gear) ${basename(current)}`, description: `from ${settingKey}`, detail: current, value: current });
  if (demo && existsSync(demo)) items.push({ label: `$(beaker) ${basename(demo)}`, description: 'bundled demo fixture', detail: demo, value: demo });
  items.push({ label: '$(folder-opened) Browse…', value: '' });
  if (canGoBack) items.push({ label: BACK, value: BACK });
  const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: `SemBridge: ${what} (${step})`, ignoreFocusOut: true });
  if (!pick) return undefined;
  if (pick.value === BACK) return 'back';
  let value = pick.value;
  if (!value) {
    const uris = await vscode.window.showOpenDialog({ title: `SemBridge: ${what} (${step})`, canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this folder' });
    if (!uris?.[0]) return undefined;
    value = uris[0].fsPath;
  }
  return { value: checkInputPath(value, 'folder', ctx, settingKey) };
}

/**
 * Checks a picked folder for its role at once. A problem is shown and the step asks again; a
 * warning (e.g. an MLM as the bridge) needs "Use Anyway". Returns false when the step must repeat.
 */
async function acceptFolder(role: FolderRole, dir: string): Promise<boolean> {
  const c = await checkFolderFor(role, dir);
  if (c.problem) {
    void vscode.window.showErrorMessage(`SemBridge: ${c.problem}. Pick another folder.`);
    return false;
  }
  if (c.warning) {
    const choice = await vscode.window.showWarningMessage(`SemBridge: ${c.warning}. Use it anyway?`, { modal: true }, 'Use Anyway');
    return choice === 'Use Anyway';
  }
  return true;
}

/** The wizard's α: a number in range or "auto"; anything else gives the message to show ({ error }). */
export function parseAlpha(text: string): number | 'auto' | { error: string } {
  if (text.trim() === 'auto') return 'auto';
  const a = Number(text.trim());
  if (!Number.isFinite(a)) return { error: 'α must be a number or "auto" (one α per token, chosen by its support size)' };
  if (a < ALPHA_RANGE.min || a > ALPHA_RANGE.max) return { error: `α must be between ${ALPHA_RANGE.min} and ${ALPHA_RANGE.max} (the paper uses 4), or "auto"` };
  return a;
}

export async function runTransferWizard(
  settings: Settings,
  ctx: PathContext,
  args: Partial<TransferArgs>,
  extensionDir: string,
): Promise<Omit<TransferArgs, 'activate'> | undefined> {
  const demo = join(extensionDir, 'dist', 'demo');
  if (args.method !== undefined && !(INIT_METHODS as readonly string[]).includes(args.method)) throw new Error(`method must be one of ${INIT_METHODS.join(', ')}`);
  const v: { sourceModel?: string; targetTokenizer?: string; bridgeModel?: string; method?: InitMethod; alpha: number | 'auto'; parent?: string; outputDir?: string } = {
    sourceModel: args.sourceModel ? checkInputPath(args.sourceModel, 'folder', ctx, 'sourceModel') : undefined,
    targetTokenizer: args.targetTokenizer ? checkInputPath(args.targetTokenizer, 'folder', ctx, 'targetTokenizer') : undefined,
    bridgeModel: args.bridgeModel ? checkInputPath(args.bridgeModel, 'folder', ctx, 'bridgeModel') : undefined,
    method: args.method,
    alpha: args.alpha ?? settings.alpha,
    outputDir: args.outputDir,
  };
  const folderStep = (key: 'sourceModel' | 'targetTokenizer' | 'bridgeModel', role: FolderRole, what: string, settingKey: string, current: string, demoDir: string) => ({
    given: () => !!args[key],
    run: async (step: string, canGoBack: boolean): Promise<StepResult<true>> => {
      for (;;) {
        const r = await pickModelPath(what, settingKey, current, demoDir, ctx, step, canGoBack);
        if (r === undefined || r === 'back') return r;
        if (await acceptFolder(role, r.value)) {
          v[key] = r.value;
          return { value: true };
        }
      }
    },
  });
  const steps: { given(): boolean; skip?(): boolean; run(step: string, canGoBack: boolean): Promise<StepResult<true>> }[] = [
    folderStep('sourceModel', 'source', 'English source encoder (a SPLADE / masked-LM folder)', 'sembridge.sourceModel', settings.sourceModel, join(demo, 'bert-mlm-en')),
    folderStep('targetTokenizer', 'target', 'target-language tokenizer folder', 'sembridge.targetTokenizer', settings.targetTokenizer, join(demo, 'ko-wordpiece')),
    folderStep('bridgeModel', 'bridge', 'multilingual bridge model (a sentence-embedding model)', 'sembridge.bridgeModel', settings.bridgeModel, join(demo, 'bridge-multilingual')),
    {
      given: () => args.method !== undefined,
      run: async (step, canGoBack) => {
        const ordered = [settings.method, ...INIT_METHODS.filter((m) => m !== settings.method)];
        const items: (vscode.QuickPickItem & { back?: boolean })[] = ordered.map((m) => ({ label: m, description: m === settings.method ? '(sembridge.method)' : undefined, detail: METHOD_HELP[m] }));
        if (canGoBack) items.push({ label: BACK, back: true });
        const pick = await vscode.window.showQuickPick(items, { title: `SemBridge: initialisation method (${step})`, ignoreFocusOut: true });
        if (!pick) return undefined;
        if (pick.back) return 'back';
        v.method = pick.label as InitMethod;
        return { value: true };
      },
    },
    {
      given: () => args.alpha !== undefined,
      // counted until a method other than sembridge is chosen
      skip: () => v.method !== undefined && v.method !== 'sembridge',
      run: async (step) => {
        const text = await vscode.window.showInputBox({
          title: `SemBridge: α of α-entmax (1 < α; larger = sparser) (${step})`,
          value: String(settings.alpha),
          ignoreFocusOut: true,
          validateInput: (x) => {
            const r = parseAlpha(x);
            return typeof r === 'object' ? r.error : undefined;
          },
        });
        if (text === undefined) return undefined;
        v.alpha = parseAlpha(text) as number | 'auto';
        return { value: true };
      },
    },
    {
      given: () => args.outputDir !== undefined,
      run: async (step) => {
        const parent = await vscode.window.showOpenDialog({
          title: `SemBridge: folder in which to create the transferred model (${step})`,
          canSelectFolders: true,
          canSelectFiles: false,
          openLabel: 'Create the model here',
        });
        if (!parent?.[0]) return undefined;
        const suggested = `${basename(v.sourceModel!)}-${basename(v.targetTokenizer!)}-${v.method}${v.method === 'sembridge' ? `-a${v.alpha}` : ''}`;
        const name = await vscode.window.showInputBox({
          title: `SemBridge: name of the new model folder (${step})`,
          value: suggested,
          ignoreFocusOut: true,
          validateInput: (x) => (/^[^/\\]+$/.test(x.trim()) && x.trim() !== '.' && x.trim() !== '..' ? undefined : 'a folder name, without slashes'),
        });
        if (!name) return undefined;
        v.outputDir = join(parent[0].fsPath, name.trim());
        return { value: true };
      },
    },
  ];
  // the steps the user is asked: those not given by the command's arguments
  const asked = steps.filter((s) => !s.given());
  let i = 0;
  while (i < asked.length) {
    const s = asked[i];
    if (s.skip?.()) {
      i++;
      continue;
    }
    const shown = asked.filter((x) => !x.skip?.());
    const r = await s.run(`step ${shown.indexOf(s) + 1} of ${shown.length}`, i > 0);
    if (r === undefined) return undefined;
    if (r === 'back') {
      do i--;
      while (i > 0 && asked[i].skip?.());
      continue;
    }
    i++;
  }
  const { sourceModel, targetTokenizer, bridgeModel, method, alpha } = v;
  const checked = parseAlpha(String(alpha));
  if (typeof checked === 'object') throw new Error(checked.error);
  const outputDir = checkOutputFolder(v.outputDir!, [sourceModel!, targetTokenizer!, bridgeModel!], ctx, 'output folder');
  let replace = false;
  if (existsSync(outputDir) && readdirSync(outputDir).length > 0 && !args.outputDir) {
    const ok = await vscode.window.showWarningMessage(`${outputDir} is not empty. Replace it with the new model?`, { modal: true }, 'Replace');
    if (ok !== 'Replace') return undefined;
    // confirmed: a folder that is not a SemBridge model is moved aside (outputGuard.ts), never deleted
    replace = true;
  }
  return { sourceModel: sourceModel!, targetTokenizer: targetTokenizer!, bridgeModel: bridgeModel!, method: method!, alpha, outputDir, ...(replace ? { replace } : {}) };
}
