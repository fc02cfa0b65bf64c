// The `sembridge.*` settings: read, validated, and every invalid value explained. An invalid value
// falls back to its default so one typo does not disable the extension; the problem is shown in
// the UI (a warning with an "Open Settings" button) and logged. No `vscode` import: the caller
// passes a getter over the configuration.
import { BRIDGE_POOLING_MODES, type BridgePoolingMode } from '../core/bridge/bridgePooling';
import { INIT_METHODS, type InitMethod } from '../core/types';

export interface Settings {
  sourceModel: string;
  targetTokenizer: string;
  bridgeModel: string;
  /** '' = the bridge folder's modules.json must declare it */
  bridgePooling: BridgePoolingMode | '';
  /** a number, or 'auto': one α per token by its support size (core/adaptiveAlpha.ts) */
  alpha: number | 'auto';
  method: InitMethod;
  corpusGlobs: string[];
  maxSequenceLength: number;
  workerThreads: number;
  hoverEnabled: boolean;
  hoverLanguages: string[];
  previewDecorations: boolean;
  allowRemoteModels: boolean;
  activeModel: string;
}

export const DEFAULT_SETTINGS: Settings = {
  sourceModel: '',
  targetTokenizer: '',
  bridgeModel: '',
  bridgePooling: '',
  alpha: 4,
  method: 'sembridge',
  corpusGlobs: ['**/*.md', '**/*.txt'],
  maxSequenceLength: 256,
  workerThreads: 1,
  hoverEnabled: true,
  hoverLanguages: ['plaintext', 'markdown'],
  previewDecorations: true,
  allowRemoteModels: false,
  activeModel: '',
};

/** setting key (after `sembridge.`) for each field */
export const SETTING_KEYS: Record<keyof Settings, string> = {
  sourceModel: 'sourceModel',
  targetTokenizer: 'targetTokenizer',
  bridgeModel: 'bridgeModel',
  bridgePooling: 'bridgePooling',
  alpha: 'alpha',
  method: 'method',
  corpusGlobs: 'corpusGlobs',
  maxSequenceLength: 'maxSequenceLength',
  workerThreads: 'workerThreads',
  hoverEnabled: 'hover.enabled',
  hoverLanguages: 'hover.languages',
  previewDecorations: 'preview.decorations',
  allowRemoteModels: 'allowRemoteModels',
  activeModel: 'activeModel',
};

export interface SettingProblem {
  key: string;
  message: string;
}

export interface ReadSettings {
  settings: Settings;
  problems: SettingProblem[];
}

export const ALPHA_RANGE = { min: 1.01, max: 16 } as const;

/** A model setting may be a local path or — only with allowRemoteModels — a hub id such as `org/name`. */
export function looksRemote(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('file://');
}

export function readSettings(get: (key: string) => unknown): ReadSettings {
  const s: Settings = { ...DEFAULT_SETTINGS, corpusGlobs: [...DEFAULT_SETTINGS.corpusGlobs], hoverLanguages: [...DEFAULT_SETTINGS.hoverLanguages] };
  const problems: SettingProblem[] = [];
  const bad = (field: keyof Settings, message: string) =>
    problems.push({ key: `sembridge.${SETTING_KEYS[field]}`, message: `${message}; using ${JSON.stringify(DEFAULT_SETTINGS[field])}` });

  const str = (field: 'sourceModel' | 'targetTokenizer' | 'bridgeModel' | 'activeModel') => {
    const v = get(SETTING_KEYS[field]);
    if (v === undefined || v === null) return;
    if (typeof v !== 'string') return bad(field, `must be a path (a string), not ${typeof v}`);
    s[field] = v.trim();
  };
  str('sourceModel');
  str('targetTokenizer');
  str('bridgeModel');
  str('activeModel');

  const bool = (field: 'hoverEnabled' | 'previewDecorations' | 'allowRemoteModels') => {
    const v = get(SETTING_KEYS[field]);
    if (v === undefined || v === null) return;
    if (typeof v !== 'boolean') return bad(field, 'must be true or false');
    s[field] = v;
  };
  bool('hoverEnabled');
  bool('previewDecorations');
  bool('allowRemoteModels');

  const alpha = get('alpha');
  if (alpha !== undefined && alpha !== null) {
    if (alpha === 'auto') s.alpha = 'auto';
    else if (typeof alpha !== 'number' || !Number.isFinite(alpha)) bad('alpha', 'must be a number or "auto"');
    else if (alpha < ALPHA_RANGE.min || alpha > ALPHA_RANGE.max)
      bad('alpha', `must be between ${ALPHA_RANGE.min} and ${ALPHA_RANGE.max} (entmax needs α > 1; the paper uses 4)`);
    else s.alpha = alpha;
  }

  const pooling = get('bridgePooling');
  if (pooling !== undefined && pooling !== null && pooling !== '') {
    if (typeof pooling !== 'string' || !(BRIDGE_POOLING_MODES as readonly string[]).includes(pooling))
      bad('bridgePooling', `must be one of ${BRIDGE_POOLING_MODES.join(', ')} (or empty)`);
    else s.bridgePooling = pooling as BridgePoolingMode;
  }

  const method = get('method');
  if (method !== undefined && method !== null) {
    if (typeof method !== 'string' || !(INIT_METHODS as readonly string[]).includes(method))
      bad('method', `must be one of ${INIT_METHODS.join(', ')}`);
    else s.method = method as InitMethod;
  }

  const int = (field: 'maxSequenceLength' | 'workerThreads', min: number, max: number) => {
    const v = get(SETTING_KEYS[field]);
    if (v === undefined || v === null) return;
    if (typeof v !== 'number' || !Number.isInteger(v)) return bad(field, 'must be a whole number');
    if (v < min || v > max) return bad(field, `must be between ${min} and ${max}`);
    s[field] = v;
  };
  int('maxSequenceLength', 8, 8192);
  int('workerThreads', 1, 16);

  const list = (field: 'corpusGlobs' | 'hoverLanguages') => {
    const v = get(SETTING_KEYS[field]);
    if (v === undefined || v === null) return;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '')) return bad(field, 'must be a list of non-empty strings');
    if (field === 'corpusGlobs' && v.length === 0) return bad(field, 'must name at least one glob');
    s[field] = v.map((x: string) => x.trim());
  };
  list('corpusGlobs');
  list('hoverLanguages');

  if (!s.allowRemoteModels) {
    for (const field of ['sourceModel', 'targetTokenizer', 'bridgeModel', 'activeModel'] as const) {
      if (s[field] && looksRemote(s[field])) {
        problems.push({
          key: `sembridge.${SETTING_KEYS[field]}`,
          message: `${JSON.stringify(s[field])} is a remote address; SemBridge loads local folders only unless sembridge.allowRemoteModels is true`,
        });
        s[field] = '';
      }
    }
  }
  return { settings: s, problems };
}
