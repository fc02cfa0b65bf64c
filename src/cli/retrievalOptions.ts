// Small pieces shared by the retrieval commands (index, search, eval, export, metrics): option
// parsing, progress on stderr, Ctrl-C as cooperative cancellation, and load-problem reports.
import { SemBridgeError } from '../core/errors';
import type { LoadProblem, OnMalformed } from '../core/corpus/types';
import type { CancelSignal, ProgressReport } from '../core/types';

export function positiveInt(value: string | undefined, option: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new SemBridgeError('is required', option);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new SemBridgeError(`must be a positive integer, got '${value}'`, option);
  return n;
}

export function positiveNumber(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new SemBridgeError(`must be a positive number, got '${value}'`, option);
  return n;
}

export function onMalformedOption(value: string | undefined): OnMalformed {
  if (value === undefined || value === 'skip') return 'skip';
  if (value === 'stop') return 'stop';
  throw new SemBridgeError(`must be 'skip' or 'stop', got '${value}'`, '--on-malformed');
}

/** Throttled one-line progress on stderr (silent when stderr is not a terminal, unless forced). */
export function stderrProgress(force = false): (p: ProgressReport) => void {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (p) => {
    if (!tty && !force) return;
    const now = Date.now();
    if (now - last < 250 && p.done !== p.total) return;
    last = now;
    const pct = p.total ? ((100 * p.done) / p.total).toFixed(0) : '?';
    const rate = p.rate ? ` ${p.rate.toFixed(1)}/s` : '';
    const eta = p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds) ? ` eta ${Math.ceil(p.etaSeconds)}s` : '';
    const line = `${p.stage}: ${p.done}/${p.total} (${pct}%)${rate}${eta}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K${p.done === p.total ? '\n' : ''}`);
    else if (p.done === p.total) process.stderr.write(line + '\n');
  };
}

/** First Ctrl-C asks the loops to stop between batches; a second one exits at once. */
export function interruptSignal(): CancelSignal & { dispose(): void } {
  const state = { cancelled: false };
  const handler = () => {
    if (state.cancelled) process.exit(130);
    state.cancelled = true;
    process.stderr.write('\ncancelling… (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', handler);
  return {
    get cancelled() {
      return state.cancelled;
    },
    dispose: () => process.off('SIGINT', handler),
  };
}

export function reportProblems(problems: LoadProblem[], max = 10): void {
  if (problems.length === 0) return;
  for (const p of problems.slice(0, max)) console.error(`warning: ${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`);
  if (problems.length > max) console.error(`warning: … and ${problems.length - max} more problem(s)`);
}

export function splitList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}
