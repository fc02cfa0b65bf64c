// One progress line on stderr for long CLI jobs (rewritten in place on a terminal, throttled otherwise).
import type { ProgressReport, ProgressSink } from '../../core/types';

export function progressPrinter(quiet = false): ProgressSink {
  if (quiet) return () => undefined;
  const tty = process.stderr.isTTY;
  let lastStage = '';
  let lastPrint = 0;
  return (p: ProgressReport) => {
    const now = Date.now();
    const stageChanged = p.stage !== lastStage;
    const finished = p.done >= p.total;
    if (!tty && !stageChanged && !finished && now - lastPrint < 2000) return;
    if (tty && !stageChanged && !finished && now - lastPrint < 100) return;
    lastPrint = now;
    const parts = [`${p.stage}: ${p.done}/${p.total}`];
    if (p.rate) parts.push(`${p.rate.toFixed(p.rate < 10 ? 1 : 0)}/s`);
    if (p.etaSeconds !== undefined && !finished && Number.isFinite(p.etaSeconds)) parts.push(`${Math.ceil(p.etaSeconds)} s left`);
    if (p.message) parts.push(p.message);
    const line = parts.join('  ');
    if (tty) process.stderr.write(`\r\x1b[K${line}${finished ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
    lastStage = p.stage;
  };
}

/** A cancel signal set by Ctrl-C (a second Ctrl-C exits at once); `dispose` removes the handler. */
export function interruptSignal(): { cancelled: boolean; dispose(): void } {
  const onSecond = () => process.exit(130);
  const onFirst = () => {
    signal.cancelled = true;
    process.stderr.write('\ncancelling (Ctrl-C again to exit now)\n');
    process.once('SIGINT', onSecond);
  };
  const signal = {
    cancelled: false,
    dispose: () => {
      process.removeListener('SIGINT', onFirst);
      process.removeListener('SIGINT', onSecond);
    },
  };
  process.once('SIGINT', onFirst);
  return signal;
}
