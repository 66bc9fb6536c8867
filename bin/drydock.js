#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so a checkout needs no build step.
require("tsx/cjs/api").register();
const { run } = require("../cli/main.ts");
process.exitCode = run(process.argv.slice(2));
