// The chart README's values table, generated from values.schema.json (descriptions, types)
// and values.yaml (defaults), between <!-- values:begin --> and <!-- values:end -->.
//   node readme_values.js <node_modules> <chart dir>           fails when the README is stale
//   node readme_values.js <node_modules> <chart dir> --write   rewrites the table
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [modulesDir, chartDir, write] = process.argv.slice(2);
const YAML = require(require.resolve('yaml', { paths: [modulesDir] }));
const schema = JSON.parse(fs.readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8'));
const values = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
const readmePath = path.join(chartDir, 'README.md');

const rows = [];
const missing = [];
function walk(node, key, value) {
  if (node.properties && node.additionalProperties === false && !(key && node.description)) {
    for (const [k, child] of Object.entries(node.properties)) walk(child, key ? `${key}.${k}` : k, value ? value[k] : undefined);
    return;
  }
  if (!node.description) missing.push(key);
  const type = [].concat(node.type || 'any').join(' or ');
  let def = JSON.stringify(value === undefined ? null : value);
  if (def.length > 60) def = `see values.yaml`;
  rows.push(`| \`${key}\` | ${type} | \`${def.replace(/\|/g, '\\|')}\` | ${(node.description || '').replace(/\|/g, '\\|')} |`);
}
walk(schema, '', values);

const table = ['| Key | Type | Default | Description |', '|---|---|---|---|', ...rows].join('\n');
const readme = fs.readFileSync(readmePath, 'utf8');
const re = /(<!-- values:begin -->\n)[\s\S]*?(<!-- values:end -->)/;
if (!re.test(readme)) { console.log('FAIL README.md has no <!-- values:begin --> ... <!-- values:end --> block'); process.exit(1); }
const updated = readme.replace(re, `$1${table}\n$2`);
for (const k of missing) console.log(`FAIL ${k}: no description in values.schema.json`);
if (write) {
  fs.writeFileSync(readmePath, updated);
  console.log(`README.md: ${rows.length} values`);
} else if (updated !== readme) {
  console.log('FAIL charts/appliance/README.md: the values table is stale; run: make chart-docs');
  process.exit(1);
} else {
  console.log(`README.md values table matches values.schema.json (${rows.length} values)`);
}
process.exit(missing.length ? 1 : 0);
