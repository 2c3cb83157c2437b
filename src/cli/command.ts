/** What every `o1e` sub-command exports: one verb per file under `src/cli/commands/`. */
export interface Command {
  /** The verb typed after `o1e`, e.g. `eval`. */
  name: string;
  /** One line for `o1e --help`. */
  summary: string;
  /** Full usage text for `o1e VERB --help`. */
  usage: string;
  /** Runs the command on the arguments after the verb; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}
