// Runs the CLI in-process through main() and captures what it prints.
import { main } from '../../src/cli/main';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runCli(argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error, warn } = console;
  const stderrWrite = process.stderr.write;
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(' '));
  console.error = console.warn = (...a: unknown[]) => void err.push(a.map(String).join(' '));
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    let code: number;
    try {
      code = await main(argv);
    } catch (e) {
      // main() is meant never to throw; a throw is recorded as a crash
      err.push(`THROWN: ${(e as Error)?.stack ?? String(e)}`);
      code = -1;
    }
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    Object.assign(console, { log, error, warn });
    process.stderr.write = stderrWrite;
  }
}

/** A stack trace line as Node prints them. */
export const STACK_LINE = /^\s+at .+(\(|:\d+:\d+)/m;

/** The same, with the arguments spread: `await cli('index', '--model', dir)`. */
export const cli = (...argv: string[]): Promise<CliResult> => runCli(argv);
