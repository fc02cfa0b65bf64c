// `sembridge`: the headless command line over src/core. Each sub-command lives in
// src/cli/commands/<name>.ts and exports `command: CliCommand`; they load lazily so that
// `sembridge metrics` does not pay for onnxruntime.
process.env.ORT_DISABLE_TELEMETRY = '1';

import { SemBridgeError, CancelledError } from '../core/errors';
import type { CliCommand } from './command';
import { UsageError } from './args';
import { describeUnexpected } from './userErrors';

const registry: Record<string, () => Promise<{ command: CliCommand }>> = {
  // name: () => import('./commands/name'),
  encode: () => import('./commands/encode'),
  init: () => import('./commands/init'),
  compare: () => import('./commands/compare'),
  demo: () => import('./commands/demo'),
  metrics: () => import('./commands/metrics'),
  index: () => import('./commands/index'),
  search: () => import('./commands/search'),
  eval: () => import('./commands/eval'),
  export: () => import('./commands/export'),
  reconstruct: () => import('./commands/reconstruct'),
  'generate-model': () => import('./commands/generateModel'),
};

function usage(): string {
  const lines = Object.keys(registry)
    .sort()
    .map((n) => `  ${n}`);
  return `usage: sembridge <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nsembridge <command> --help shows a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = registry[name];
  if (!load) {
    console.error(`sembridge: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return (await command.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      const first = command.help.split('\n')[0];
      console.error(`sembridge ${name}: ${err.message}\n${first.startsWith('usage:') ? first : `usage: ${first}`}`);
      return 2;
    }
    if (err instanceof SemBridgeError) {
      console.error(`sembridge ${name}: ${err.message}`);
      return 1;
    }
    if (err instanceof CancelledError) {
      console.error(`sembridge ${name}: cancelled`);
      return 130;
    }
    const { message, code } = describeUnexpected(err);
    console.error(`sembridge ${name}: ${message}`);
    return code;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`sembridge: ${describeUnexpected(err).message}`);
      process.exit(describeUnexpected(err).code);
    },
  );
}
