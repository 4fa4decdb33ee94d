// The process entry point (bin/pytor.js loads this). Tests spawn it directly.
import { main } from './main.js';

void main(process.argv);
