// Parses every Terraform directory with hcl2json and checks what `terraform validate` would
// check for the parts it cannot run offline (the Helm and Kubernetes providers): every
// var./local./module./data./resource reference exists, module calls pass exactly the
// module's variables, tfvars set only declared variables, the release roots read only
// outputs the platform root has, the Helm provider is used in its v3 syntax, and the values
// passed to the appliance chart exist in the chart's values.yaml (when the chart is there).
//   node terraform_refs_test.cjs SOURCE_DIR
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const S = require("./infra_support.cjs");

const source = path.resolve(process.argv[2] || path.join(__dirname, "../.."));
const hcl2json = S.requireTool("@cdktf/hcl2json", source);
const tfRoot = path.join(source, "terraform");
const report = new S.Report("terraform references");
const rel = (p) => path.relative(source, p);

// The ${...} segments of a string.
function expressions(str) {
  const out = [];
  for (let i = str.indexOf("${"); i >= 0; i = str.indexOf("${", i + 2)) {
    let depth = 0;
    for (let j = i + 1; j < str.length; j++) {
      if (str[j] === "{") depth++;
      else if (str[j] === "}" && --depth === 0) {
        out.push(str.slice(i + 2, j));
        break;
      }
    }
  }
  return out;
}

function references(parsed) {
  const refs = { var: new Set(), local: new Set(), module: new Set(), data: new Set(), ephemeral: new Set(), resource: new Set() };
  for (const s of S.strings(parsed)) {
    for (const e of expressions(s)) {
      for (const m of e.matchAll(/(?<![\w.])var\.([A-Za-z_][\w-]*)/g)) refs.var.add(m[1]);
      for (const m of e.matchAll(/(?<![\w.])local\.([A-Za-z_][\w-]*)/g)) refs.local.add(m[1]);
      for (const m of e.matchAll(/(?<![\w.])module\.(\w+)(?:\[[^\]]*\])?(?:\.(\w+))?/g)) refs.module.add(`${m[1]}.${m[2] || ""}`);
      for (const m of e.matchAll(/(?<![\w.])data\.(\w+)\.(\w+)/g)) refs.data.add(`${m[1]}.${m[2]}`);
      for (const m of e.matchAll(/(?<![\w.])ephemeral\.(\w+)\.(\w+)/g)) refs.ephemeral.add(`${m[1]}.${m[2]}`);
      for (const m of e.matchAll(/(?<![\w.])((?:aws|helm|kubernetes|http)_\w+)\.(\w+)/g)) refs.resource.add(`${m[1]}.${m[2]}`);
    }
  }
  return refs;
}

const META_ARGS = new Set(["source", "version", "count", "for_each", "depends_on", "providers"]);

async function checkDir(dir, cache) {
  const name = rel(dir);
  let tf;
  try {
    tf = await S.loadTerraformDir(hcl2json, dir);
  } catch (err) {
    report.check(false, `${name}: does not parse: ${err.message || err}`);
    return;
  }
  cache.set(dir, tf);
  report.check(true, `${name} parses`);
  const refs = references({ ...tf, files: undefined });
  // "$${" is HCL's escape for a literal "${": a template that looks interpolated but is not.
  for (const s of S.strings({ ...tf, files: undefined })) {
    report.check(!s.includes("$${"), `${name}: "${s}" holds a literal \${ (escaped $\${), not an interpolation`);
  }
  for (const v of refs.var) report.check(v in tf.variable, `${name}: var.${v} is not declared`);
  for (const l of refs.local) report.check(l in tf.locals, `${name}: local.${l} is not defined`);
  for (const r of refs.data) {
    const [type, n] = r.split(".");
    report.check(tf.data[type] && n in tf.data[type], `${name}: data.${r} does not exist`);
  }
  for (const r of refs.ephemeral) {
    const [type, n] = r.split(".");
    report.check(tf.ephemeral[type] && n in tf.ephemeral[type], `${name}: ephemeral.${r} does not exist`);
  }
  for (const r of refs.resource) {
    const [type, n] = r.split(".");
    report.check(tf.resource[type] && n in tf.resource[type], `${name}: resource ${r} does not exist`);
  }
  for (const [v, decl] of Object.entries(tf.variable)) {
    report.check(typeof decl.description === "string" && decl.description.length > 0, `${name}: variable ${v} has no description`);
    report.check("type" in decl, `${name}: variable ${v} has no type`);
  }
  for (const [o, decl] of Object.entries(tf.output)) {
    report.check(typeof decl.description === "string" && decl.description.length > 0, `${name}: output ${o} has no description`);
    if (/(secret|password|token)s?(_arn|_value)?$/.test(o)) report.check(decl.sensitive === true, `${name}: output ${o} must be sensitive`);
  }
  // Module calls and module outputs.
  for (const [m, call] of Object.entries(tf.module)) {
    const modDir = path.resolve(dir, call.source);
    if (!report.check(fs.existsSync(modDir), `${name}: module ${m}: source ${call.source} does not exist`)) continue;
    const mod = cache.get(modDir) || (await S.loadTerraformDir(hcl2json, modDir));
    cache.set(modDir, mod);
    for (const arg of Object.keys(call)) {
      if (!META_ARGS.has(arg)) report.check(arg in mod.variable, `${name}: module ${m} passes ${arg}, which ${rel(modDir)} does not declare`);
    }
    for (const [v, decl] of Object.entries(mod.variable)) {
      if (!("default" in decl)) report.check(v in call, `${name}: module ${m} does not pass required variable ${v}`);
    }
  }
  for (const r of refs.module) {
    const [m, out] = r.split(".");
    if (!report.check(m in tf.module, `${name}: module.${m} is not called`)) continue;
    if (out) {
      const mod = cache.get(path.resolve(dir, tf.module[m].source));
      report.check(mod && out in mod.output, `${name}: module.${m}.${out} is not an output of ${tf.module[m].source}`);
    }
  }
  await checkTfvars(dir, tf);
  if (fs.existsSync(path.join(dir, "..", "main.tf")) && path.basename(dir) === "release") await checkRemoteState(dir, tf, cache);
  if (tf.provider.helm || tf.resource.helm_release) checkHelmV3(dir, tf);
}

async function checkTfvars(dir, tf) {
  const name = rel(dir);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".tfvars"));
  const isRoot = tf.terraform.some((t) => t.backend);
  if (isRoot) report.check(files.length > 0, `${name}: a root without a .tfvars file`);
  // Set by the workflows on the command line.
  const fromCommandLine = new Set(["image_tag"]);
  for (const f of files) {
    const vars = await S.loadTfvars(hcl2json, path.join(dir, f));
    for (const k of Object.keys(vars)) report.check(k in tf.variable, `${name}/${f}: ${k} is not a variable`);
    for (const [v, decl] of Object.entries(tf.variable)) {
      if (!("default" in decl) && !fromCommandLine.has(v)) report.check(v in vars, `${name}/${f}: required variable ${v} is not set`);
    }
  }
}

// A release root reads the platform's outputs as local.platform.<output>.
async function checkRemoteState(dir, tf, cache) {
  const name = rel(dir);
  const platformDir = path.dirname(dir);
  const platform = cache.get(platformDir) || (await S.loadTerraformDir(hcl2json, platformDir));
  report.check(tf.locals.platform === "${data.terraform_remote_state.platform.outputs}", `${name}: local.platform is not the platform's remote state`);
  const used = new Set();
  for (const s of S.strings({ ...tf, files: undefined })) {
    for (const m of s.matchAll(/local\.platform\.(\w+)/g)) used.add(m[1]);
  }
  for (const o of used) report.check(o in platform.output, `${name}: reads platform output ${o}, which ${rel(platformDir)} does not have`);
  const state = tf.data.terraform_remote_state && tf.data.terraform_remote_state.platform;
  const backend = S.blocks(platform.terraform.find((t) => t.backend).backend.s3)[0];
  report.check(state && state.config && state.config.key === "${var.environment}/platform.tfstate", `${name}: remote state key is not <environment>/platform.tfstate`);
  report.check(backend.key.endsWith("/platform.tfstate"), `${rel(platformDir)}: backend key ${backend.key} is not <env>/platform.tfstate`);
}

function checkHelmV3(dir, tf) {
  const name = rel(dir);
  for (const p of tf.provider.helm || []) {
    report.check(p.kubernetes && !Array.isArray(p.kubernetes), `${name}: provider helm: kubernetes must be an attribute (kubernetes = {...}) in Helm provider v3`);
  }
  for (const [file, text] of Object.entries(tf.files)) {
    report.check(!/^\s*(set|set_sensitive|set_list)\s*\{/m.test(text), `${name}/${file}: helm_release set { } blocks are Helm provider v2 syntax (v3: set = [...])`);
  }
  for (const [r, rel_] of Object.entries(tf.resource.helm_release || {})) {
    for (const s of S.blocks(rel_.set)) {
      report.check(typeof s === "object" && "name" in s && "value" in s, `${name}: helm_release.${r}: set entries need name and value`);
    }
    report.check(rel_.chart !== undefined, `${name}: helm_release.${r} has no chart`);
    if (rel_.repository) report.check(typeof rel_.version === "string" && rel_.version.length > 0, `${name}: helm_release.${r} from a repository has no pinned version`);
  }
  const required = S.blocks(tf.terraform.find((t) => t.required_providers)?.required_providers)[0] || {};
  if (required.helm) report.check(/^>= ?3/.test(required.helm.version), `${name}: helm provider constraint ${required.helm.version} does not require v3`);
}

// The values Terraform passes to charts/appliance exist in its values.yaml.
function checkChartValues(cache) {
  const chartDir = process.env.APPLIANCE_CHART_DIR || path.join(source, "charts/appliance");
  const valuesFile = path.join(chartDir, "values.yaml");
  if (!fs.existsSync(valuesFile)) {
    console.log(`note: ${rel(valuesFile)} not found; chart value names not checked`);
    return;
  }
  const YAML = S.requireTool("yaml", source);
  const chart = YAML.parse(fs.readFileSync(valuesFile, "utf8"));
  const release = cache.get(path.join(tfRoot, "modules/appliance_release"));
  const walk = (ours, theirs, at) => {
    for (const [k, v] of Object.entries(ours)) {
      const here = at ? `${at}.${k}` : k;
      if (!report.check(theirs && typeof theirs === "object" && k in theirs, `appliance_release passes ${here}, which charts/appliance/values.yaml does not have`)) continue;
      if (v && typeof v === "object" && !Array.isArray(v) && theirs[k] && typeof theirs[k] === "object" && Object.keys(theirs[k]).length) walk(v, theirs[k], here);
    }
  };
  walk(release.locals.appliance_values, chart, "");
  for (const env of ["dev", "prod"]) {
    report.check(fs.existsSync(path.join(chartDir, `values-${env}.yaml`)), `charts/appliance/values-${env}.yaml (read by appliance_release) does not exist`);
  }
}

(async () => {
  const cache = new Map();
  const dirs = S.terraformDirs(tfRoot);
  for (const required of ["modules/network", "modules/eks", "modules/database", "modules/github_oidc", "modules/registry",
    "modules/observability_cost", "modules/appliance_release", "envs/dev", "envs/prod", "envs/dev/release", "envs/prod/release"]) {
    report.check(dirs.includes(path.join(tfRoot, required)), `terraform/${required} is missing`);
  }
  for (const dir of dirs) await checkDir(dir, cache);
  for (const dir of dirs.filter((d) => /\/envs\/[^/]+(\/release)?$/.test(d))) {
    for (const f of ["versions.tf", "backend.tf", "providers.tf", "main.tf", "variables.tf", "outputs.tf", "terraform.tfvars"]) {
      report.check(fs.existsSync(path.join(dir, f)), `${rel(dir)}/${f} is missing`);
    }
  }
  // dev and prod differ only in their settings: the same code is promoted.
  for (const sub of ["", "release"]) {
    for (const f of ["main.tf", "variables.tf", "outputs.tf", "providers.tf", "versions.tf", "secrets.tf"]) {
      const a = path.join(tfRoot, "envs/dev", sub, f), b = path.join(tfRoot, "envs/prod", sub, f);
      if (fs.existsSync(a) || fs.existsSync(b)) {
        report.check(fs.existsSync(a) && fs.existsSync(b) && fs.readFileSync(a, "utf8") === fs.readFileSync(b, "utf8"),
          `envs/dev/${sub}${sub && "/"}${f} and envs/prod/${sub}${sub && "/"}${f} differ (environments differ only in tfvars and backend)`);
      }
    }
  }
  checkChartValues(cache);
  report.finish();
})().catch((err) => {
  console.log(`FAIL: ${err.stack || err}`);
  process.exit(1);
});
