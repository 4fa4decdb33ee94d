// Runs every compiled test file under dist/test with node's built-in runner.
// Node 20's `--test` takes no globs, so the files are listed here.
// `PYTOR_TEST_FILTER=interop` (a substring of the path) narrows the run.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filter = process.env.PYTOR_TEST_FILTER ?? '';
const files = collect(join('dist', 'test'), []).filter((f) => f.includes(filter));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
// No force-exit: a test that leaks a socket or timer keeps the run from ending, and that is a bug to fix.
const args = ['--test', '--test-concurrency=1', '--test-timeout=600000', ...process.argv.slice(2), ...files];
// Every pytor the tests start keeps its state (resume data) in a temp folder, never in the home folder.
const stateHome = mkdtempSync(join(tmpdir(), 'pytor-test-state-'));
// And no pytor the tests start may join the public DHT: no bootstrap routers (a test that wants
// a DHT passes --dht-bootstrap with a loopback node).
const env = { ...process.env, XDG_STATE_HOME: stateHome, PYTOR_DHT_BOOTSTRAP: '' };
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env });
rmSync(stateHome, { recursive: true, force: true });
process.exit(result.status ?? 1);
