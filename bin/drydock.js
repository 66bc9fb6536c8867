#!/usr/bin/env node
// In a checkout the TypeScript CLI runs through tsx (no build step); an installed package
// runs its built JavaScript.
const { existsSync } = require("node:fs");
const { join } = require("node:path");
const source = join(__dirname, "..", "cli", "main.ts");
let main;
if (existsSync(source)) {
  require("tsx/cjs/api").register();
  main = source;
} else {
  main = join(__dirname, "..", "dist", "cli", "main.js");
}
// A closed pipe (drydock render | head) ends the program quietly.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});
const { run } = require(main);
run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
