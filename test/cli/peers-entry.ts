// Runs the real pytor program with `peers` registered, for as long as src/cli/main.ts does not
// register it itself (then the test uses runPytor and this file is unused).
import { buildProgram, reportError } from '../../src/cli/main.js';
import { registerPeers } from '../../src/cli/peers.js';

const program = buildProgram();
if (!program.commands.some((c) => c.name() === 'peers')) registerPeers(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = reportError(err);
});
