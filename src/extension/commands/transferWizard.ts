// "SemBridge: Transfer Encoder to Target Language…": asks for the three inputs, the method, α and
// an output folder (each defaulting to its setting), checks them, and returns the job's inputs.
// Any field given as a command argument skips its question (used by tests and the walkthrough).
import * as vscode from 'vscode';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { INIT_METHODS, type InitMethod } from '../../core/types';
import { ALPHA_RANGE, type Settings } from '../settings';
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

async function pickModelPath(
  what: string,
  settingKey: string,
  current: string,
  demo: string | undefined,
  ctx: PathContext,
): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { value: string };
  const items: Item[] = [];
  if (current) items.push({ label: `$(settings-gear) ${basename(current)}`, description: `from ${settingKey}`, detail: current, value: current });
  if (demo && existsSync(demo)) items.push({ label: `$(beaker) ${basename(demo)}`, description: 'bundled demo fixture', detail: demo, value: demo });
  items.push({ label: '$(folder-opened) Browse…', value: '' });
  const pick = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: `SemBridge: ${what}`, ignoreFocusOut: true });
  if (!pick) return undefined;
  let value = pick.value;
  if (!value) {
    const uris = await vscode.window.showOpenDialog({ title: `SemBridge: ${what}`, canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this folder' });
    if (!uris?.[0]) return undefined;
    value = uris[0].fsPath;
  }
  return checkInputPath(value, 'folder', ctx, settingKey);
}

export function parseAlpha(text: string): number | string {
  const a = Number(text.trim());
  if (!Number.isFinite(a)) return 'α must be a number';
  if (a < ALPHA_RANGE.min || a > ALPHA_RANGE.max) return `α must be between ${ALPHA_RANGE.min} and ${ALPHA_RANGE.max} (the paper uses 4)`;
  return a;
}

export async function runTransferWizard(
  settings: Settings,
  ctx: PathContext,
  args: Partial<TransferArgs>,
  extensionDir: string,
): Promise<Omit<TransferArgs, 'activate'> | undefined> {
  const demo = join(extensionDir, 'dist', 'demo');
  const sourceModel = args.sourceModel
    ? checkInputPath(args.sourceModel, 'folder', ctx, 'sourceModel')
    : await pickModelPath('English source encoder (a SPLADE / masked-LM folder)', 'sembridge.sourceModel', settings.sourceModel, join(demo, 'bert-mlm-en'), ctx);
  if (!sourceModel) return undefined;
  const targetTokenizer = args.targetTokenizer
    ? checkInputPath(args.targetTokenizer, 'folder', ctx, 'targetTokenizer')
    : await pickModelPath('target-language tokenizer folder', 'sembridge.targetTokenizer', settings.targetTokenizer, join(demo, 'ko-wordpiece'), ctx);
  if (!targetTokenizer) return undefined;
  const bridgeModel = args.bridgeModel
    ? checkInputPath(args.bridgeModel, 'folder', ctx, 'bridgeModel')
    : await pickModelPath('multilingual bridge model', 'sembridge.bridgeModel', settings.bridgeModel, join(demo, 'bridge-multilingual'), ctx);
  if (!bridgeModel) return undefined;

  let method = args.method;
  if (method !== undefined && !(INIT_METHODS as readonly string[]).includes(method)) throw new Error(`method must be one of ${INIT_METHODS.join(', ')}`);
  if (!method) {
    const ordered = [settings.method, ...INIT_METHODS.filter((m) => m !== settings.method)];
    const pick = await vscode.window.showQuickPick(
      ordered.map((m) => ({ label: m, description: m === settings.method ? '(sembridge.method)' : undefined, detail: METHOD_HELP[m] })),
      { title: 'SemBridge: initialisation method', ignoreFocusOut: true },
    );
    if (!pick) return undefined;
    method = pick.label as InitMethod;
  }

  let alpha = args.alpha ?? settings.alpha;
  if (args.alpha === undefined && method === 'sembridge') {
    const text = await vscode.window.showInputBox({
      title: 'SemBridge: α of α-entmax (1 < α; larger = sparser)',
      value: String(settings.alpha),
      ignoreFocusOut: true,
      validateInput: (v) => {
        const r = parseAlpha(v);
        return typeof r === 'string' ? r : undefined;
      },
    });
    if (text === undefined) return undefined;
    alpha = parseAlpha(text) as number;
  }
  const checked = parseAlpha(String(alpha));
  if (typeof checked === 'string') throw new Error(checked);

  let outputDir = args.outputDir;
  if (!outputDir) {
    const parent = await vscode.window.showOpenDialog({
      title: 'SemBridge: folder in which to create the transferred model',
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: 'Create the model here',
    });
    if (!parent?.[0]) return undefined;
    const suggested = `${basename(sourceModel)}-${basename(targetTokenizer)}-${method}${method === 'sembridge' ? `-a${alpha}` : ''}`;
    const name = await vscode.window.showInputBox({
      title: 'SemBridge: name of the new model folder',
      value: suggested,
      ignoreFocusOut: true,
      validateInput: (v) => (/^[^/\\]+$/.test(v.trim()) && v.trim() !== '.' && v.trim() !== '..' ? undefined : 'a folder name, without slashes'),
    });
    if (!name) return undefined;
    outputDir = join(parent[0].fsPath, name.trim());
  }
  outputDir = checkOutputFolder(outputDir, [sourceModel, targetTokenizer, bridgeModel], ctx, 'output folder');
  if (existsSync(outputDir) && readdirSync(outputDir).length > 0 && !args.outputDir) {
    const ok = await vscode.window.showWarningMessage(`${outputDir} is not empty. Replace it with the new model?`, { modal: true }, 'Replace');
    if (ok !== 'Replace') return undefined;
  }
  return { sourceModel, targetTokenizer, bridgeModel, method, alpha, outputDir };
}
