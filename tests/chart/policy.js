// Policy checks over rendered chart manifests, in the spirit of kube-linter and Polaris (not
// packaged here): the chart's secure defaults and the rules of docs/deploy.md.
//   node policy.js <node_modules dir> <manifest.yaml>...
// Exit 0 when every rule holds for every file; each violation is printed as
// "FAIL <file>: <Kind>/<name>: <rule>".
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [modulesDir, ...files] = process.argv.slice(2);
const YAML = require(require.resolve('yaml', { paths: [modulesDir] }));

const SCALER_VERBS = {
  'pods': ['create', 'delete', 'get', 'list', 'watch', 'patch'],
  'secrets': ['create', 'delete', 'list', 'patch'],
  'apps/deployments': ['get', 'patch', 'update'],
  'apps/deployments/scale': ['get', 'patch', 'update'],
  'coordination.k8s.io/leases': ['create', 'get', 'update'],
  'events': ['create', 'patch'],
};

function durationSeconds(text) {
  const m = /^(\d+)(ms|s|m|h)$/.exec(String(text || '0s'));
  if (!m) return 0;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}

function checkContainer(c, where, fail, needProbes) {
  const sc = c.securityContext || {};
  if (sc.readOnlyRootFilesystem !== true) fail(`${where}: readOnlyRootFilesystem must be true`);
  if (sc.allowPrivilegeEscalation !== false) fail(`${where}: allowPrivilegeEscalation must be false`);
  if (sc.privileged === true) fail(`${where}: privileged`);
  const caps = sc.capabilities || {};
  if (!(caps.drop || []).includes('ALL')) fail(`${where}: capabilities must drop ALL`);
  if ((caps.add || []).length) fail(`${where}: adds capabilities ${caps.add}`);
  if (sc.runAsUser === 0) fail(`${where}: runs as root`);
  const image = String(c.image || '');
  if (!/@sha256:[a-f0-9]{64}$/.test(image) && !/:[\w][\w.-]*$/.test(image.split('/').pop())) {
    fail(`${where}: image ${image} has no tag or digest`);
  }
  if (/:latest$/.test(image)) fail(`${where}: image uses the latest tag`);
  const res = c.resources || {};
  if (!res.requests || !res.requests.cpu || !res.requests.memory) fail(`${where}: needs cpu and memory requests`);
  if (!res.limits || !res.limits.memory) fail(`${where}: needs a memory limit`);
  if (needProbes) {
    for (const p of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      if (!c[p]) fail(`${where}: no ${p}`);
    }
    const ready = c.readinessProbe && c.readinessProbe.httpGet;
    if (ready && ready.path !== '/readyz') fail(`${where}: readinessProbe must GET /readyz`);
    const live = c.livenessProbe && c.livenessProbe.httpGet;
    if (live && live.path !== '/livez') fail(`${where}: livenessProbe must GET /livez`);
  }
  for (const e of c.env || []) {
    if (e.valueFrom && e.valueFrom.secretKeyRef) fail(`${where}: Secret ${e.valueFrom.secretKeyRef.name} in env ${e.name}; mount it as a file`);
  }
  for (const e of c.envFrom || []) {
    if (e.secretRef) fail(`${where}: envFrom Secret ${e.secretRef.name}; mount it as a file`);
  }
  if (sc.readOnlyRootFilesystem === true && !(c.volumeMounts || []).some((m) => m.mountPath === '/tmp')) {
    fail(`${where}: read-only root filesystem without a /tmp volume`);
  }
}

function checkPod(spec, where, fail, { component, needProbes }) {
  const psc = spec.securityContext || {};
  if (psc.runAsNonRoot !== true) fail(`${where}: pod runAsNonRoot must be true`);
  if (!psc.runAsUser || psc.runAsUser === 0) fail(`${where}: pod runAsUser must be a non-root UID`);
  const seccomp = (psc.seccompProfile || {}).type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') fail(`${where}: seccompProfile must be RuntimeDefault`);
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) fail(`${where}: uses host namespaces`);
  for (const v of spec.volumes || []) if (v.hostPath) fail(`${where}: hostPath volume ${v.name}`);
  const token = spec.automountServiceAccountToken;
  if (component === 'scaler') {
    if (token !== true) fail(`${where}: the scaler needs its service-account token`);
  } else if (token !== false) {
    fail(`${where}: automountServiceAccountToken must be false`);
  }
  for (const c of [...(spec.initContainers || []), ...(spec.containers || [])]) {
    checkContainer(c, `${where} container ${c.name}`, fail, needProbes);
  }
}

function checkRbac(obj, where, fail) {
  // The one cluster-wide grant allowed: the scaler's opt-in `list nodes` (scaler.rbac.nodes).
  const nodesOnly = (r) => r.length === 1 && JSON.stringify(r[0].apiGroups) === '[""]' &&
    JSON.stringify(r[0].resources) === '["nodes"]' && JSON.stringify(r[0].verbs) === '["list"]';
  if (obj.kind === 'ClusterRole') {
    if (nodesOnly(obj.rules || [])) return;
    fail(`${where}: cluster-wide RBAC beyond list nodes`);
  }
  if (obj.kind === 'ClusterRoleBinding') {
    if (!String(obj.roleRef.name).endsWith('-nodes')) fail(`${where}: cluster-wide RBAC`);
    return;
  }
  for (const rule of obj.rules || []) {
    for (const field of ['verbs', 'resources', 'apiGroups', 'resourceNames']) {
      if ((rule[field] || []).some((x) => x.includes('*'))) fail(`${where}: wildcard in ${field}`);
    }
    const component = (obj.metadata.labels || {})['app.kubernetes.io/component'];
    if (component !== 'scaler') { fail(`${where}: RBAC for ${component}, only the scaler has any`); continue; }
    for (const group of rule.apiGroups || []) {
      for (const res of rule.resources || []) {
        const key = group ? `${group}/${res}` : res;
        const allowed = SCALER_VERBS[key];
        if (!allowed) { fail(`${where}: ${key} is not a resource the scaler needs`); continue; }
        const extra = (rule.verbs || []).filter((v) => !allowed.includes(v));
        if (extra.length) fail(`${where}: ${key} verbs ${extra} beyond ${allowed}`);
      }
    }
  }
}

let checked = 0;
const failures = [];
for (const file of files) {
  const objs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS()).filter(Boolean);
  const base = path.basename(file);
  const byKind = (k) => objs.filter((o) => o.kind === k);
  const config = byKind('ConfigMap').find((o) => o.data && o.data['appliance.yaml']);
  const http = config ? (YAML.parse(config.data['appliance.yaml']) || {}).http || {} : {};
  const drainSeconds = durationSeconds(http.shutdown_delay) + durationSeconds(http.drain_timeout);
  for (const obj of objs) {
    checked++;
    const where = `${base}: ${obj.kind}/${obj.metadata.name}`;
    const fail = (msg) => failures.push(msg);
    const labels = obj.metadata.labels || {};
    for (const l of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/managed-by']) {
      if (!labels[l]) fail(`${where}: no ${l} label`);
    }
    if (obj.kind === 'Deployment') {
      const component = labels['app.kubernetes.io/component'];
      const sel = obj.spec.selector.matchLabels || {};
      if (sel['app.kubernetes.io/component'] !== component) fail(`${where}: app.kubernetes.io/component not in the selector`);
      const pod = obj.spec.template;
      if (!(pod.metadata.annotations || {})['checksum/config']) fail(`${where}: no checksum/config annotation`);
      checkPod(pod.spec, where, fail, { component, needProbes: true });
      const args = pod.spec.containers[0].args || [];
      if (!args.includes(`--role=${component}`)) fail(`${where}: args lack --role=${component}`);
      if ((pod.spec.terminationGracePeriodSeconds || 30) <= drainSeconds) {
        fail(`${where}: terminationGracePeriodSeconds ${pod.spec.terminationGracePeriodSeconds} does not cover shutdown_delay + drain_timeout (${drainSeconds}s)`);
      }
      const hpa = byKind('HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === obj.metadata.name);
      const replicas = hpa ? hpa.spec.minReplicas : (obj.spec.replicas === undefined ? 1 : obj.spec.replicas);
      const pdb = byKind('PodDisruptionBudget').find((p) =>
        Object.entries(p.spec.selector.matchLabels || {}).every(([k, v]) => sel[k] === v));
      if (replicas > 1 && !pdb) fail(`${where}: ${replicas} replicas and no PodDisruptionBudget`);
      const np = byKind('NetworkPolicy');
      if (np.length && !np.some((p) => Object.entries(p.spec.podSelector.matchLabels || {}).every(([k, v]) => sel[k] === v))) {
        fail(`${where}: no NetworkPolicy selects its pods`);
      }
    } else if (obj.kind === 'Pod') {
      checkPod(obj.spec, where, fail, { component: labels['app.kubernetes.io/component'], needProbes: false });
    } else if (obj.kind === 'Role' || obj.kind === 'ClusterRole' || obj.kind === 'ClusterRoleBinding') {
      checkRbac(obj, where, fail);
    } else if (obj.kind === 'ServiceAccount') {
      const scaler = labels['app.kubernetes.io/component'] === 'scaler';
      if (!scaler && obj.automountServiceAccountToken !== false) fail(`${where}: automountServiceAccountToken must be false`);
    } else if (obj.kind === 'Ingress' && obj.spec.ingressClassName === 'alb') {
      const a = obj.metadata.annotations || {};
      const want = {
        'alb.ingress.kubernetes.io/target-type': 'ip',
        'alb.ingress.kubernetes.io/ssl-redirect': '443',
        'alb.ingress.kubernetes.io/healthcheck-path': '/readyz',
      };
      for (const [k, v] of Object.entries(want)) if (a[k] !== v) fail(`${where}: ${k} must be ${v}`);
      let ports = [];
      try { ports = JSON.parse(a['alb.ingress.kubernetes.io/listen-ports'] || '[]'); } catch { /* reported below */ }
      const has = (proto, port) => ports.some((p) => p[proto] === port);
      if (!has('HTTP', 80) || !has('HTTPS', 443)) fail(`${where}: listen-ports must hold HTTP 80 and HTTPS 443`);
      if (!/^arn:aws[a-z-]*:acm:/.test(a['alb.ingress.kubernetes.io/certificate-arn'] || '')) fail(`${where}: no ACM certificate-arn`);
    } else if (obj.kind === 'Secret') {
      fail(`${where}: the chart must not create Secrets (existingSecret only)`);
    }
  }
}
for (const f of failures) console.log(`FAIL ${f}`);
console.log(`${checked} objects in ${files.length} files checked, ${failures.length} violations`);
process.exit(failures.length === 0 && checked > 0 ? 0 : 1);
