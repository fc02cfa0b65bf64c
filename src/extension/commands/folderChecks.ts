// What the transfer wizard checks about a folder the moment it is picked (not after the last
// prompt): that it has the files its role needs, and whether a bridge is really an embedding model.
// No `vscode` import, so tests call it directly.
import { inspectModelFolder, type HfModelFolder } from '../../core/model/hfFolder';

export type FolderRole = 'source' | 'target' | 'bridge';

export interface FolderCheck {
  /** the folder cannot serve this role: the step asks again */
  problem?: string;
  /** it can, but probably should not: the user must confirm */
  warning?: string;
  /** one line about what was found (shown in the next step's title bar) */
  summary: string;
}

function hasTokenizer(f: HfModelFolder): boolean {
  return !!(f.files.tokenizerJson || f.files.vocabTxt || f.files.sentencepiece || (f.files.vocabJson && f.files.mergesTxt));
}

function isMaskedLm(f: HfModelFolder): boolean {
  return f.architectures.some((a) => /ForMaskedLM$/.test(a));
}

export async function checkFolderFor(role: FolderRole, dir: string): Promise<FolderCheck> {
  let f: HfModelFolder;
  try {
    f = await inspectModelFolder(dir);
  } catch (err) {
    return { problem: `${dir}: ${(err as Error).message}`, summary: '' };
  }
  const vocab = f.vocabSize !== undefined ? `, vocabulary ${f.vocabSize.toLocaleString('en-US')}` : '';
  const kind = f.architectures[0] ?? f.modelType ?? 'model';
  if (!hasTokenizer(f)) return { problem: `${dir} has no tokenizer (tokenizer.json, vocab.txt or a sentencepiece model)`, summary: '' };
  if (role === 'target') return { summary: `tokenizer ${f.files.tokenizerJson ? 'tokenizer.json' : 'files'}${vocab}` };
  if (!f.config) return { problem: `${dir} has no config.json: not a model folder`, summary: '' };
  if (!f.files.checkpoint && !f.files.onnx) return { problem: `${dir} has neither model.safetensors nor onnx/model.onnx`, summary: '' };
  if (role === 'source') {
    if (!isMaskedLm(f) && !f.spladePooling)
      return { warning: `${dir} is a ${kind}, not a masked-LM or SPLADE encoder: SemBridge transfers the MLM head's output rows`, summary: `${kind}${vocab}` };
    return { summary: `${f.spladePooling ? 'SPLADE encoder' : kind}${vocab}` };
  }
  // bridge: a sentence-embedding model; an MLM would give mean-pooled hidden states of a model never
  // trained to embed, and every cosine would be computed from them
  if (isMaskedLm(f) && f.densePooling?.origin !== 'sentence-transformers')
    return {
      warning: `${dir} is a masked language model (${kind}), not a sentence-embedding model: its "bridge vectors" would be mean-pooled MLM states, which align tokens poorly`,
      summary: `${kind}${vocab}`,
    };
  return { summary: `${f.densePooling ? `embedding model, ${f.densePooling.mode} pooling` : kind}${vocab}` };
}
