// Option parsing for every sub-command: Node's parseArgs, with its errors (unknown option, missing
// value, stray argument) turned into one readable UsageError that names the option and the closest
// valid one. main() prints it with the command's usage line and exits 2.
import { parseArgs } from 'node:util';
import { SemBridgeError } from '../core/errors';

/** Bad command-line syntax (as opposed to bad input files): exit code 2, usage line shown. */
export class UsageError extends SemBridgeError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Drop-in replacement for `parseArgs` from node:util. */
export const parseCliArgs: typeof parseArgs = (config) => {
  try {
    return parseArgs(config);
  } catch (err) {
    throw toUsageError(err, Object.keys(config?.options ?? {})) ?? err;
  }
};

export function toUsageError(err: unknown, optionNames: string[]): UsageError | undefined {
  const code = (err as { code?: string })?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  const message = String((err as Error).message);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const option = quoted.replace(/ <value>$/, '');
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const near = closestOption(option, optionNames);
    return new UsageError(`unknown option '${option}'${near ? ` (did you mean --${near}?)` : ''}`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(message)) return new UsageError(`option '${option}' takes no value`);
    return new UsageError(`option '${option}' needs a value (write ${option}=VALUE for a value starting with '-')`);
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`unexpected argument '${quoted}'`);
  return new UsageError(message.split('\n')[0]);
}

/** The valid option nearest to what was typed (edit distance ≤ a third of its length, or a prefix). */
export function closestOption(typed: string, names: string[]): string | undefined {
  const t = typed.replace(/^-+/, '').split('=')[0].toLowerCase();
  if (!t) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = n.startsWith(t) || t.startsWith(n) ? Math.min(1, levenshtein(t, n)) : levenshtein(t, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.ceil(t.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  // with adjacent transpositions (optimal string alignment), so '--alpah' is one step from '--alpha'
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}
