// Feeds every rendered role Deployment's args and mounted ConfigMaps to the real binary with
// --check-config: the chart's config must be one the appliance accepts.
//   node check_config.js <node_modules> <rendered.yaml> <appliance binary> <source root>
// Mounted files (Secrets, the CA bundle) become dummy files under a temporary folder, and the
// config's /etc/appliance and /var/lib/appliance paths are moved there.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const [modulesDir, rendered, binary, sourceRoot] = process.argv.slice(2);
const YAML = require(require.resolve('yaml', { paths: [modulesDir] }));
const objects = YAML.parseAllDocuments(fs.readFileSync(rendered, 'utf8')).map((d) => d.toJS()).filter(Boolean);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-check-config-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const config = objects.find((o) => o.kind === 'ConfigMap' && o.data && o.data['appliance.yaml']);
const deployments = objects.filter((o) => o.kind === 'Deployment' && o.metadata.labels['app.kubernetes.io/component']);
if (!deployments.length || !config) { console.log('FAIL no Deployment or config ConfigMap rendered'); process.exit(1); }

// Dummy contents for every file a pod mounts.
const dummy = (name) => (name.endsWith('.pem') ? fs.readFileSync('/etc/ssl/certs/ca-certificates.crt') : `dummy-${name}-0123456789abcdef\n`);
const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap' && o.data).map((o) => [o.metadata.name, o]));

// Every role's Deployment: its args and mounted files, through the real binary.
let failed = 0;
for (const deploy of deployments) {
  const role = deploy.metadata.labels['app.kubernetes.io/component'];
  const pod = deploy.spec.template.spec;
  const container = pod.containers[0];
  const root = fs.mkdtempSync(path.join(tmp, `${role}-`));
  const relocate = (p) => p.replace(/\/etc\/appliance\//g, `${root}/etc/appliance/`).replace(/\/var\/lib\/appliance/g, `${root}/data`);
  for (const mount of container.volumeMounts || []) {
    const volume = (pod.volumes || []).find((v) => v.name === mount.name);
    if (!volume) continue;
    const dir = relocate(mount.mountPath + '/');
    fs.mkdirSync(dir, { recursive: true });
    const mapped = volume.configMap && configMaps.get(volume.configMap.name);
    if (mapped) {
      for (const [key, value] of Object.entries(mapped.data)) fs.writeFileSync(path.join(dir, key), relocate(value));
      continue;
    }
    const sources = volume.projected ? volume.projected.sources : [volume.secret || volume.configMap].filter(Boolean).map((x) => ({ secret: x }));
    for (const src of sources) {
      for (const item of (src.secret || src.configMap || {}).items || []) {
        fs.mkdirSync(path.dirname(path.join(dir, item.path)), { recursive: true });
        fs.writeFileSync(path.join(dir, item.path), dummy(item.path));
      }
    }
  }
  const args = container.args.map(relocate);
  const r = spawnSync(binary, [...args, '--check-config'], {
    cwd: sourceRoot, encoding: 'utf8', env: { PATH: process.env.PATH, HOSTNAME: 'chart-test' },
  });
  console.log(`[${role}] ${binary} ${args.join(' ')} --check-config`);
  console.log((r.stdout + r.stderr).trim());
  if (r.status !== 0) { console.log(`FAIL ${role}: --check-config exited ${r.status}`); failed += 1; }
}
process.exit(failed ? 1 : 0);
