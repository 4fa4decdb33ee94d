#!/usr/bin/env -S node --max-semi-space-size=2
// The CLI is TypeScript compiled to dist/ and bundled into one module by `npm ci` (the prepare
// script: scripts/bundle-cli.mjs); this only loads it. One file starts in 0.10 s, 150 in 0.17 s.
// The flag: V8's young generation capped at 2 MiB per semi-space. A transfer's buffers live
// outside the JS heap, and the default (up to 16 MiB) only grew RSS: 100 -> 84 MB peak for a
// 1 GiB download at the same speed and CPU (npm run bench, A/B). The bench reads this line.
import '../dist/src/cli/bundle.mjs';
