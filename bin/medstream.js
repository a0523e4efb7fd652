#!/usr/bin/env node
// The `medstream` command. The CLI is TypeScript, run through tsx's require hook so a checkout
// needs no build step.
require('tsx/cjs');
require('../cli/main.ts')
  .main(process.argv)
  .then(() => process.exit(process.exitCode ?? 0));
