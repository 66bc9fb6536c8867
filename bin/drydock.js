#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so a checkout needs no build step.
require("tsx/cjs/api").register();
// A closed pipe (drydock render | head) ends the program quietly.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});
const { run } = require("../cli/main.ts");
run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
