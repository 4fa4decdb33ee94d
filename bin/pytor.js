#!/usr/bin/env node
// The CLI is TypeScript compiled to dist/ by `npm ci` (the prepare script); this only loads it.
import '../dist/src/cli/entry.js';
