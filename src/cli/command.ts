export interface CliCommand {
  /** one paragraph of usage text, printed by --help */
  help: string;
  /** returns the process exit code */
  run(args: string[]): Promise<number | void>;
}
