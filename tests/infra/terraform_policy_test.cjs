// The security and cost claims of the Terraform, asserted over the parsed HCL (hcl2json):
// encryption on every store (RDS, EBS in launch templates, S3, ECR, EKS Secrets, CloudTrail,
// SNS, CloudWatch Logs, Secrets Manager), no public database, IMDSv2 with hop limit 1, exact
// GitHub OIDC trust (StringEquals on aud and sub, no wildcards, no ForAllValues in Allow),
// budgets and CloudTrail in both environments, locked and encrypted state, the cost
// allocation tags, and the seed's sizes and regions in the tfvars.
//   node terraform_policy_test.cjs SOURCE_DIR
"use strict";
const path = require("node:path");
const S = require("./infra_support.cjs");

const source = path.resolve(process.argv[2] || path.join(__dirname, "../.."));
const hcl2json = S.requireTool("@cdktf/hcl2json", source);
const tf = path.join(source, "terraform");
const report = new S.Report("terraform policy");
const first = (v) => S.blocks(v)[0] || {};
const isTrue = (v) => v === true || v === "true";
// JSON with sorted keys (hcl2json sorts object keys).
const canon = (v) => JSON.stringify(v, (k, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));
const ref = (type, name) => new RegExp(`^\\$\\{${type}\\.${name}\\.(id|arn|name|bucket)\\}$`);

async function load(dir) {
  return S.loadTerraformDir(hcl2json, path.join(tf, dir));
}

function resources(mod, type) {
  return Object.entries(mod.resource[type] || {});
}

function policyStatements(mod) {
  const out = [];
  for (const [name, doc] of Object.entries(mod.data.aws_iam_policy_document || {})) {
    for (const st of S.blocks(doc.statement)) out.push({ doc: name, st });
  }
  return out;
}

function checkStores(name, mod) {
  for (const [r, db] of resources(mod, "aws_db_instance")) {
    const at = `${name}: aws_db_instance.${r}`;
    report.check(isTrue(db.storage_encrypted), `${at}: storage_encrypted must be true`);
    report.check(typeof db.kms_key_id === "string", `${at}: no customer KMS key`);
    report.check(db.publicly_accessible === false, `${at}: publicly_accessible must be false`);
    report.check(db.storage_type === "gp3", `${at}: storage_type must be gp3`);
    report.check(isTrue(db.manage_master_user_password), `${at}: the master password must be managed by RDS in Secrets Manager`);
    report.check(typeof db.master_user_secret_kms_key_id === "string", `${at}: the master secret needs a KMS key`);
    report.check(isTrue(db.performance_insights_enabled) && typeof db.performance_insights_kms_key_id === "string", `${at}: Performance Insights, encrypted`);
    report.check(S.blocks(db.enabled_cloudwatch_logs_exports).includes("postgresql"), `${at}: postgresql log export`);
    report.check(db.deletion_protection !== false, `${at}: deletion protection`);
    report.check(typeof db.backup_retention_period !== "undefined" && db.backup_retention_period !== 0, `${at}: backups`);
    report.check(typeof db.backup_window === "string", `${at}: a backup window`);
    const pg = first(Object.values(mod.resource.aws_db_parameter_group || {}));
    const force = S.blocks(pg.parameter).find((p) => p.name === "rds.force_ssl");
    report.check(force && String(force.value) === "1", `${at}: parameter group must set rds.force_ssl = 1`);
  }
  for (const [r, sg] of resources(mod, "aws_vpc_security_group_ingress_rule")) {
    report.check(!sg.cidr_ipv4 && !sg.cidr_ipv6, `${name}: ingress rule ${r} opens to a CIDR`);
  }
  for (const [r, sg] of resources(mod, "aws_security_group")) {
    report.check(!sg.ingress, `${name}: aws_security_group.${r} has inline ingress (use rules from security groups)`);
  }
  for (const [r, lt] of resources(mod, "aws_launch_template")) {
    const at = `${name}: aws_launch_template.${r}`;
    const md = first(lt.metadata_options);
    report.check(md.http_tokens === "required", `${at}: IMDSv2 must be required (http_tokens = "required")`);
    report.check(md.http_put_response_hop_limit === 1, `${at}: IMDS hop limit must be 1`);
    const devices = S.blocks(lt.block_device_mappings);
    report.check(devices.length > 0, `${at}: no block device mapping (root volume unencrypted by default)`);
    for (const d of devices) {
      const ebs = first(d.ebs);
      report.check(isTrue(ebs.encrypted), `${at}: ${d.device_name} must be encrypted`);
      report.check(typeof ebs.kms_key_id === "string", `${at}: ${d.device_name} needs a KMS key`);
      report.check(ebs.volume_type === "gp3", `${at}: ${d.device_name} must be gp3`);
    }
  }
  for (const [r] of resources(mod, "aws_eks_node_group")) {
    report.check(typeof first(mod.resource.aws_eks_node_group[r].launch_template).id === "string", `${name}: aws_eks_node_group.${r} must use the launch template`);
  }
  for (const [b] of resources(mod, "aws_s3_bucket")) {
    const at = `${name}: aws_s3_bucket.${b}`;
    const about = (type) => resources(mod, type).filter(([, v]) => ref("aws_s3_bucket", b).test(v.bucket)).map(([, v]) => v);
    const sse = about("aws_s3_bucket_server_side_encryption_configuration")[0];
    const def = sse && first(first(sse.rule).apply_server_side_encryption_by_default);
    report.check(def && def.sse_algorithm === "aws:kms" && typeof def.kms_master_key_id === "string", `${at}: needs SSE-KMS with a customer key`);
    const pab = about("aws_s3_bucket_public_access_block")[0];
    report.check(pab && ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"].every((k) => isTrue(pab[k])), `${at}: public access must be blocked`);
    const ver = about("aws_s3_bucket_versioning")[0];
    report.check(ver && first(ver.versioning_configuration).status === "Enabled", `${at}: versioning`);
    report.check(about("aws_s3_bucket_lifecycle_configuration").length === 1, `${at}: needs a lifecycle configuration`);
    const pol = about("aws_s3_bucket_policy")[0];
    report.check(pol && /aws_iam_policy_document\.(\w+)\.json/.test(pol.policy), `${at}: needs a bucket policy`);
    if (pol) {
      const doc = pol.policy.match(/aws_iam_policy_document\.(\w+)\.json/)[1];
      const deny = S.blocks(mod.data.aws_iam_policy_document[doc].statement).find((s) => s.effect === "Deny" &&
        S.blocks(s.condition).some((c) => c.variable === "aws:SecureTransport" && S.blocks(c.values).includes("false")));
      report.check(Boolean(deny), `${at}: the bucket policy must deny requests without TLS`);
    }
  }
  for (const [r, repo] of resources(mod, "aws_ecr_repository")) {
    const at = `${name}: aws_ecr_repository.${r}`;
    const enc = first(repo.encryption_configuration);
    report.check(enc.encryption_type === "KMS" && typeof enc.kms_key === "string", `${at}: KMS encryption with a customer key`);
    report.check(repo.image_tag_mutability === "IMMUTABLE", `${at}: tags must be immutable`);
    report.check(isTrue(first(repo.image_scanning_configuration).scan_on_push), `${at}: scan on push`);
    const lc = resources(mod, "aws_ecr_lifecycle_policy").map(([, v]) => v).find((v) => /aws_ecr_repository\.\w+\.name/.test(v.repository));
    report.check(lc && /tagStatus\s*=\s*"untagged"/.test(lc.policy) && /imageCountMoreThan/.test(lc.policy), `${at}: lifecycle policy expiring untagged images and keeping the last N releases`);
  }
  for (const [r, c] of resources(mod, "aws_eks_cluster")) {
    const at = `${name}: aws_eks_cluster.${r}`;
    const enc = first(c.encryption_config);
    report.check(S.blocks(enc.resources).includes("secrets") && typeof first(enc.provider).key_arn === "string", `${at}: Secrets envelope encryption with KMS`);
    const logs = S.blocks(c.enabled_cluster_log_types);
    report.check(logs.includes("audit") && logs.includes("authenticator"), `${at}: audit and authenticator logs`);
    report.check(first(c.access_config).authentication_mode === "API", `${at}: access entries only (authentication_mode = "API")`);
    report.check(isTrue(first(c.vpc_config).endpoint_private_access), `${at}: private endpoint`);
    report.check(typeof first(c.vpc_config).public_access_cidrs === "string", `${at}: public endpoint restricted to listed CIDRs`);
  }
  for (const [r, t] of resources(mod, "aws_cloudtrail")) {
    const at = `${name}: aws_cloudtrail.${r}`;
    report.check(isTrue(t.is_multi_region_trail), `${at}: multi-region`);
    report.check(isTrue(t.enable_log_file_validation), `${at}: log file validation`);
    report.check(typeof t.kms_key_id === "string", `${at}: KMS-encrypted`);
  }
  for (const [r, t] of resources(mod, "aws_sns_topic")) report.check(typeof t.kms_master_key_id === "string", `${name}: aws_sns_topic.${r} must be KMS-encrypted`);
  for (const [r, g] of resources(mod, "aws_cloudwatch_log_group")) {
    report.check(typeof g.kms_key_id === "string", `${name}: aws_cloudwatch_log_group.${r} must be KMS-encrypted`);
    report.check(g.retention_in_days !== undefined && g.retention_in_days !== 0, `${name}: aws_cloudwatch_log_group.${r} needs a retention`);
  }
  for (const [r, k] of resources(mod, "aws_kms_key")) report.check(isTrue(k.enable_key_rotation), `${name}: aws_kms_key.${r} needs key rotation`);
  for (const [r, s] of resources(mod, "aws_secretsmanager_secret")) report.check(typeof s.kms_key_id === "string", `${name}: aws_secretsmanager_secret.${r} needs a customer KMS key`);
  // Pull requests plan the AWS-only roots with a role that may not read secret values, and a
  // secret version is read back (GetSecretValue) on every refresh.
  for (const [r] of resources(mod, "aws_secretsmanager_secret_version")) {
    report.check(false, `${name}: aws_secretsmanager_secret_version.${r}: secret values are put outside Terraform (the plan role cannot read them)`);
  }
  // No Allow statement uses ForAllValues (true for an empty set: a classic bypass).
  for (const { doc, st } of policyStatements(mod)) {
    if ((st.effect || "Allow") !== "Allow") continue;
    for (const c of S.blocks(st.condition)) {
      report.check(!/^ForAllValues:/i.test(c.test), `${name}: policy ${doc}: ForAllValues in an Allow statement`);
    }
  }
  for (const s of S.strings({ ...mod, files: undefined })) {
    if (/ForAllValues/.test(s)) report.check(false, `${name}: ForAllValues in a JSON policy`);
  }
}

function checkOidc(mod) {
  const name = "modules/github_oidc";
  const trust = mod.data.aws_iam_policy_document.trust;
  report.check(Boolean(trust), `${name}: no trust policy document`);
  const subjects = mod.locals.subjects || {};
  report.check(subjects.plan === "repo:${var.repository}:pull_request", `${name}: the plan role must trust exactly pull requests of the repository`);
  report.check(subjects.apply === "repo:${var.repository}:environment:${var.environment}", `${name}: the apply role must trust exactly the repository's environment`);
  for (const [k, v] of Object.entries(subjects)) {
    report.check(!v.includes("*") && v.startsWith("repo:${var.repository}:"), `${name}: subject ${k} (${v}) must name the one repository without wildcards`);
  }
  const repoValidation = first(mod.variable.repository.validation).condition;
  report.check(/regex\(/.test(repoValidation) && !/\\\*|\[\^?[^\]]*\*/.test(repoValidation), `${name}: var.repository must be validated as OWNER/REPO without wildcards`);
  for (const st of S.blocks(trust.statement)) {
    report.check(S.blocks(st.actions).every((a) => a === "sts:AssumeRoleWithWebIdentity"), `${name}: trust allows more than AssumeRoleWithWebIdentity`);
    const conds = S.blocks(st.condition);
    const aud = conds.find((c) => /:aud$/.test(c.variable));
    const sub = conds.find((c) => /:sub$/.test(c.variable));
    report.check(aud && aud.test === "StringEquals" && S.blocks(aud.values).join() === "sts.amazonaws.com", `${name}: aud must be StringEquals sts.amazonaws.com`);
    report.check(sub && sub.test === "StringEquals", `${name}: sub must be StringEquals`);
    for (const c of conds) {
      report.check(!/Like/i.test(c.test) && !/^For(All|Any)Values/.test(c.test), `${name}: trust condition ${c.test} on ${c.variable}`);
      for (const v of S.blocks(c.values)) report.check(!String(v).includes("*") && !String(v).includes("?"), `${name}: wildcard in trust condition ${c.variable}: ${v}`);
    }
  }
  for (const r of ["plan", "apply", "image_push"]) {
    report.check(Boolean(mod.resource.aws_iam_role[r]), `${name}: role ${r} missing`);
    report.check(!(mod.resource.aws_iam_role_policy_attachment || {})[r], `${name}: role ${r} must use its inline least-privilege policy, not a managed one`);
  }
  const plan = S.blocks(mod.data.aws_iam_policy_document.plan.statement);
  const deny = plan.find((s) => s.effect === "Deny" && S.blocks(s.actions).includes("secretsmanager:GetSecretValue"));
  report.check(Boolean(deny), `${name}: the plan role must be denied secret values`);
  for (const st of plan.filter((s) => (s.effect || "Allow") === "Allow")) {
    for (const a of S.blocks(st.actions)) {
      report.check(!/:(\*|Create|Delete|Put(?!Object)|Update|Attach|Modify|Run)/.test(a) || (a === "s3:PutObject" || a === "s3:DeleteObject") && S.blocks(st.resources).every((r) => r.endsWith(".tflock}") || r.endsWith(".tflock")), `${name}: the plan role may ${a} (read-only apart from the state lock)`);
    }
  }
}

function checkRoot(name, mod) {
  const be = first(first(mod.terraform.find((t) => t.backend)).backend.s3);
  report.check(isTrue(be.use_lockfile) && isTrue(be.encrypt) && typeof be.kms_key_id === "string", `${name}: S3 backend must be encrypted (KMS) and use_lockfile`);
  const tags = first(first(mod.provider.aws).default_tags).tags || {};
  for (const k of ["project", "environment", "owner", "cost-center"]) report.check(k in tags, `${name}: default_tags lacks ${k}`);
  return be.key;
}

async function checkEnv(env, want) {
  const name = `envs/${env}`;
  const root = await load(name);
  const vars = await S.loadTfvars(hcl2json, path.join(tf, name, "terraform.tfvars"));
  const rel = await S.loadTfvars(hcl2json, path.join(tf, name, "release/terraform.tfvars"));
  checkStores(name, root);
  report.check(root.module.observability_cost && root.module.observability_cost.source === "../../modules/observability_cost", `${name}: budgets and CloudTrail (observability_cost) missing`);
  report.check(root.module.database.database_subnet_ids === "${module.network.database_subnet_ids}", `${name}: the database must live in the database subnets`);
  report.check(root.module.database.client_security_group_id === "${module.eks.cluster_security_group_id}", `${name}: the database must admit only the cluster's security group`);
  for (const [k, v] of Object.entries(want.tfvars)) {
    report.check(canon(vars[k]) === canon(v), `${name}/terraform.tfvars: ${k} is ${JSON.stringify(vars[k])}, the seed's is ${JSON.stringify(v)}`);
  }
  for (const [k, v] of Object.entries(want.nodes)) {
    const got = vars[k] || {};
    for (const [f, x] of Object.entries(v)) report.check(canon(got[f]) === canon(x), `${name}/terraform.tfvars: ${k}.${f} is ${JSON.stringify(got[f])}, want ${JSON.stringify(x)}`);
  }
  report.check(vars.runner_node_group && vars.runner_node_group.instance_types.length >= 3, `${name}: the spot node group needs several instance types`);
  report.check(Number(vars.kubernetes_version.split(".")[1]) >= 34, `${name}: Kubernetes ${vars.kubernetes_version} is out of standard support`);
  report.check(!vars.public_access_cidrs.some((c) => c.endsWith("/0")), `${name}: the public endpoint is open to the world`);
  report.check(vars.monthly_budget_usd > 0 && vars.budget_alert_emails.length > 0, `${name}: a budget and its recipients`);
  for (const [k, v] of Object.entries(want.release)) {
    report.check(canon(rel[k]) === canon(v), `${name}/release/terraform.tfvars: ${k} is ${JSON.stringify(rel[k])}, the seed's is ${JSON.stringify(v)}`);
  }
  const keys = [checkRoot(name, root), checkRoot(`${name}/release`, await load(`${name}/release`))];
  return keys;
}

(async () => {
  for (const m of ["network", "eks", "database", "registry", "observability_cost", "github_oidc"]) {
    checkStores(`modules/${m}`, await load(`modules/${m}`));
  }
  const bootstrap = await load("bootstrap");
  checkStores("bootstrap", bootstrap);
  checkOidc(await load("modules/github_oidc"));

  const network = await load("modules/network");
  report.check(Object.keys(network.resource.aws_flow_log || {}).length === 1, "modules/network: VPC flow logs");
  report.check(!Object.values(network.resource.aws_route || {}).some((r) => /aws_route_table\.database/.test(r.route_table_id)), "modules/network: the database subnets must have no route out");
  report.check(Object.values(network.resource.aws_subnet.public.tags || {}).length && "kubernetes.io/role/elb" in network.resource.aws_subnet.public.tags, "modules/network: public subnets need the ELB tag");
  report.check("kubernetes.io/role/internal-elb" in network.resource.aws_subnet.private.tags, "modules/network: private subnets need the internal-ELB tag");

  const eks = await load("modules/eks");
  const groups = eks.locals.node_groups;
  report.check(groups.app.capacity_type === "ON_DEMAND" && groups.runners.capacity_type === "SPOT", "modules/eks: app on-demand, runners spot");
  report.check(S.blocks(groups.runners.taints).some((t) => t.effect === "NO_SCHEDULE"), "modules/eks: the runner node group needs a NoSchedule taint");
  const addons = Object.keys(eks.locals.addons || {});
  for (const a of ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"]) report.check(addons.includes(a), `modules/eks: managed add-on ${a}`);
  report.check(Boolean((eks.resource.aws_eks_pod_identity_association || {}).load_balancer_controller), "modules/eks: Pod Identity for the Load Balancer Controller");

  const obs = await load("modules/observability_cost");
  const budget = obs.resource.aws_budgets_budget.monthly;
  const notes = S.blocks(budget.notification).map((n) => `${n.notification_type}:${n.threshold}`);
  report.check(budget.time_unit === "MONTHLY" && budget.budget_type === "COST", "modules/observability_cost: a monthly cost budget");
  report.check(S.blocks(budget.cost_filter).some((f) => f.name === "TagKeyValue" && S.blocks(f.values).join() === '${format("user:environment$%s", var.environment)}'),
    "modules/observability_cost: the budget must filter on the environment's cost allocation tag (user:environment$<env>)");
  report.check(notes.includes("FORECASTED:80") && notes.includes("ACTUAL:100"), `modules/observability_cost: budget alerts at 80% forecast and 100% actual (got ${notes})`);
  report.check(Object.keys(obs.resource.aws_cloudtrail || {}).length === 1, "modules/observability_cost: a CloudTrail trail");

  const keys = [
    ...(await checkEnv("dev", {
      tfvars: { region: "us-east-1", single_nat_gateway: true, db_instance_class: "db.t3.micro", db_allocated_storage_gib: 20,
        db_max_allocated_storage_gib: 50, db_backup_retention_days: 3, db_multi_az: false },
      nodes: { app_node_group: { instance_types: ["t3.medium"], min_size: 1, max_size: 3 }, runner_node_group: { min_size: 0, max_size: 3 } },
      release: { api_replicas: { min: 2, max: 3 }, runners: { min: 1, max: 3 } },
    })),
    ...(await checkEnv("prod", {
      tfvars: { region: "us-west-2", single_nat_gateway: false, db_instance_class: "db.t3.small", db_allocated_storage_gib: 50,
        db_max_allocated_storage_gib: 200, db_backup_retention_days: 14, db_multi_az: true, db_final_snapshot: true },
      nodes: { app_node_group: { instance_types: ["t3.medium", "t3.large"], min_size: 3, max_size: 20 }, runner_node_group: { min_size: 0, max_size: 10 } },
      release: { api_replicas: { min: 3, max: 10 }, runners: { min: 2, max: 10 } },
    })),
  ];
  report.check(new Set(keys).size === keys.length, `every root needs its own state key (got ${keys})`);
  report.finish();
})().catch((err) => {
  console.log(`FAIL: ${err.stack || err}`);
  process.exit(1);
});
