import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './errors.js';
import { safeText } from './terminal.js';
import { registerCreate } from './create.js';
import { registerDownload } from './download.js';
import { registerInfo } from './info.js';
import { registerPeers } from './peers.js';
import { registerSeed } from './seed.js';
import { registerDaemon } from './daemon.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('pytor')
    .description('A BitTorrent client for the command line')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run pytor --help for usage)')
    .exitOverride();
  registerInfo(program);
  registerPeers(program);
  registerDownload(program);
  registerCreate(program);
  registerSeed(program);
  registerDaemon(program, VERSION);
  return program;
}

const VERSION = '0.1.0';

/** Runs the CLI; never throws. Sets process.exitCode (commands that hold sockets exit on their own). */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

/** Turns any error into one stderr line (a stack too under DEBUG) and returns the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander has printed its own message (or help / version) already.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) {
      return EXIT.ok;
    }
    return EXIT.usage;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`pytor: ${safeText(message)}\n`);
  if (process.env.DEBUG && /pytor/.test(process.env.DEBUG) && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
  return err instanceof CliError ? err.exitCode : EXIT.error;
}
