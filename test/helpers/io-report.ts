// Preloaded into a pytor child (`node --import THIS entry.js ...`): at exit it writes the
// process's own I/O counters (/proc/self/io) to $PYTOR_IO_REPORT, so a test can tell how many
// bytes pytor read, exactly, without sampling.
import { readFileSync, writeFileSync } from 'node:fs';

const target = process.env.PYTOR_IO_REPORT;
if (target) {
  process.on('exit', () => {
    try {
      writeFileSync(target, readFileSync('/proc/self/io'));
    } catch {
      // No /proc: the test reading the report fails and says so.
    }
  });
}
