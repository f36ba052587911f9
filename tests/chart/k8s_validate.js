// Validates every object of rendered chart manifests against the Kubernetes OpenAPI schema of
// its kind (npm kubernetes-models, and @kubernetes-models/prometheus-operator for the CRDs),
// then looks for fields the schema does not know, which those validators let through: the
// models' TypeScript declarations (.d.ts) list every property of every type, so they are
// walked alongside the object.
//   node k8s_validate.js <node_modules dir> <manifest.yaml>...
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [modulesDir, ...files] = process.argv.slice(2);
const requireTool = (name) => require(require.resolve(name, { paths: [modulesDir] }));
const YAML = requireTool('yaml');

function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') {
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  }
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

// --- A small parser of the declaration files' type syntax -------------------------------------
function tokenize(text) {
  const src = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return src.match(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*|-?\d+(?:\.\d+)?|[{}[\]<>:;?|,()=&]/g) || [];
}

class TypeParser {
  constructor(tokens, pos) { this.t = tokens; this.i = pos; }
  peek() { return this.t[this.i]; }
  next() { return this.t[this.i++]; }
  expect(tok) {
    const got = this.next();
    if (got !== tok) throw new Error(`declaration parse: expected ${tok}, got ${got}`);
  }
  type() {
    let first = this.primary();
    while (this.peek() === '[' && this.t[this.i + 1] === ']') { this.i += 2; first = { array: first }; }
    if (this.peek() !== '|' && this.peek() !== '&') return first;
    while (this.peek() === '|' || this.peek() === '&') { this.next(); this.primary(); }
    return { any: true };
  }
  primary() {
    const tok = this.next();
    if (tok === '{') {
      if (this.peek() === '[') {  // { [key: string]: T }
        while (this.next() !== ']');
        this.expect(':');
        const value = this.type();
        if (this.peek() === ';') this.next();
        this.expect('}');
        return { map: value };
      }
      const props = {};
      while (this.peek() !== '}') {
        const key = this.next().replace(/^["']|["']$/g, '');
        if (this.peek() === '?') this.next();
        this.expect(':');
        props[key] = this.type();
        if (this.peek() === ';' || this.peek() === ',') this.next();
      }
      this.next();
      return { props };
    }
    if (tok === 'Array' && this.peek() === '<') {
      this.next();
      const item = this.type();
      this.expect('>');
      return { array: item };
    }
    if (tok === '(') { const inner = this.type(); this.expect(')'); return inner; }
    if (/^["'\d-]/.test(tok) || ['string', 'number', 'boolean', 'any', 'unknown', 'null', 'object', 'undefined'].includes(tok)) {
      return { any: true };
    }
    return { ref: tok };
  }
}

const fileTypes = new Map();  // .d.ts path -> { imports, root }
function declaration(file) {
  if (fileTypes.has(file)) return fileTypes.get(file);
  const text = fs.readFileSync(file, 'utf8');
  const imports = {};
  for (const m of text.matchAll(/import\s*{([^}]*)}\s*from\s*"([^"]+)"/g)) {
    const spec = m[2];
    let target = null;
    if (spec.startsWith('.')) target = path.resolve(path.dirname(file), spec) + '.d.ts';
    else if (!spec.startsWith('@kubernetes-models/base')) {
      try { target = require.resolve(spec, { paths: [modulesDir] }).replace(/\.js$/, '.d.ts'); } catch { target = null; }
    }
    for (const name of m[1].split(',')) {
      const local = name.trim().split(/\s+as\s+/).pop();
      if (local) imports[local] = target;
    }
  }
  const tokens = tokenize(text);
  let root = { any: true };
  for (let i = 0; i < tokens.length - 2; i++) {
    if (tokens[i] === 'export' && tokens[i + 1] === 'interface') {
      let j = i + 3;
      while (tokens[j] !== '{') j++;  // skip "extends ..."
      root = new TypeParser(tokens, j).type();
      break;
    }
  }
  const entry = { imports, root };
  fileTypes.set(file, entry);
  return entry;
}

function resolve(type, file) {
  while (type.ref) {
    const target = declaration(file).imports[type.ref];
    if (!target || !fs.existsSync(target)) return { any: true };
    file = target;
    type = declaration(file).root;
  }
  return { type, file };
}

function unknownFields(value, type, file, where, out) {
  const r = resolve(type, file);
  if (!r.type || r.type.any || value === null || typeof value !== 'object') return;
  if (r.type.array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, r.type.array, r.file, `${where}[${i}]`, out));
  } else if (r.type.map) {
    for (const [k, v] of Object.entries(value)) unknownFields(v, r.type.map, r.file, `${where}.${k}`, out);
  } else if (r.type.props) {
    for (const [k, v] of Object.entries(value)) {
      if (!(k in r.type.props)) out.push(`${where}.${k}: unknown field`);
      else unknownFields(v, r.type.props[k], r.file, `${where}.${k}`, out);
    }
  }
}

// --- Main --------------------------------------------------------------------------------------
let objects = 0;
const problems = [];
for (const file of files) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    const obj = doc.toJS();
    if (!obj) continue;
    objects++;
    const name = `${path.basename(file)}: ${obj.kind}/${obj.metadata && obj.metadata.name}`;
    let mod;
    try {
      mod = requireTool(modelModule(obj.apiVersion, obj.kind));
    } catch {
      problems.push(`${name}: no schema for ${obj.apiVersion} ${obj.kind}`);
      continue;
    }
    try {
      new mod[obj.kind](obj).validate();
    } catch (e) {
      problems.push(`${name}: ${e.message}`);
    }
    const dts = require.resolve(modelModule(obj.apiVersion, obj.kind), { paths: [modulesDir] }).replace(/\.js$/, '.d.ts');
    const unknown = [];
    unknownFields(obj, declaration(dts).root, dts, '', unknown);
    for (const u of unknown) problems.push(`${name}: ${u}`);
  }
}
for (const p of problems) console.log(`FAIL ${p}`);
console.log(`${objects} objects in ${files.length} files validated, ${problems.length} problems`);
process.exit(problems.length === 0 && objects > 0 ? 0 : 1);
