// Shared by the infrastructure checks (tests/infra/*_test.cjs): finding the pinned npm tools,
// parsing Terraform with @cdktf/hcl2json, walking the parsed JSON, and a tiny reporter.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const SKIP = 77; // CTest SKIP_RETURN_CODE

// The npm tools installed by scripts/tools.sh (or APPLIANCE_NODE_MODULES).
function requireTool(name, sourceDir) {
  const dirs = [process.env.APPLIANCE_NODE_MODULES, path.join(sourceDir, ".tools/npm/node_modules")];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return require(candidate);
  }
  console.log(`SKIPPED: npm package ${name} not installed (run scripts/tools.sh)`);
  process.exit(SKIP);
}

// Failures are collected and printed together; exit 1 if any.
class Report {
  constructor(title) {
    this.title = title;
    this.failures = [];
    this.checks = 0;
  }
  check(ok, message) {
    this.checks++;
    if (!ok) this.failures.push(message);
    return ok;
  }
  finish() {
    for (const f of this.failures) console.log(`FAIL: ${f}`);
    console.log(`${this.title}: ${this.checks - this.failures.length}/${this.checks} checks passed`);
    process.exit(this.failures.length ? 1 : 0);
  }
}

// Parses every *.tf file of one directory (not recursive) and merges the top-level blocks:
// { variable: {name: {...}}, resource: {type: {name: {...}}}, data: ..., module: ...,
//   output: ..., locals: {name: expr}, provider: {name: [..]}, terraform: [..], raw: text }.
async function loadTerraformDir(hcl2json, dir) {
  const merged = { variable: {}, resource: {}, data: {}, ephemeral: {}, module: {}, output: {},
    locals: {}, provider: {}, terraform: [], check: {}, files: {} };
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".tf")).sort();
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    merged.files[file] = text;
    const json = await hcl2json.parse(file, text);
    for (const [kind, value] of Object.entries(json)) {
      if (kind === "locals") {
        for (const block of value) Object.assign(merged.locals, block);
      } else if (kind === "terraform") {
        merged.terraform.push(...value);
      } else if (kind === "resource" || kind === "data" || kind === "ephemeral") {
        for (const [type, byName] of Object.entries(value)) {
          merged[kind][type] = merged[kind][type] || {};
          for (const [name, blocks] of Object.entries(byName)) merged[kind][type][name] = blocks[0];
        }
      } else if (kind === "provider") {
        for (const [name, blocks] of Object.entries(value)) {
          merged.provider[name] = (merged.provider[name] || []).concat(blocks);
        }
      } else {
        merged[kind] = merged[kind] || {};
        for (const [name, blocks] of Object.entries(value)) merged[kind][name] = blocks[0];
      }
    }
  }
  return merged;
}

async function loadTfvars(hcl2json, file) {
  return hcl2json.parse(path.basename(file), fs.readFileSync(file, "utf8"));
}

// Every string inside a parsed value (expressions are "${...}" strings).
function strings(value, out = []) {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => strings(v, out));
  return out;
}

// The Terraform directories under terraform/: modules, bootstrap, envs/*, envs/*/release.
function terraformDirs(root) {
  const out = [];
  const walk = (dir) => {
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && e.name.endsWith(".tf"))) out.push(dir);
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith(".")) walk(path.join(dir, e.name));
    }
  };
  walk(root);
  return out.sort();
}

// A block that hcl2json gives as a list of objects: always an array.
const blocks = (v) => (Array.isArray(v) ? v : v ? [v] : []);

module.exports = { SKIP, requireTool, Report, loadTerraformDir, loadTfvars, strings, terraformDirs, blocks };
