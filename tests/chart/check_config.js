// Feeds the rendered api Deployment's args and the rendered ConfigMap to the real binary with
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
const relocate = (p) => p.replace(/\/etc\/appliance\//g, `${tmp}/etc/appliance/`).replace(/\/var\/lib\/appliance/g, `${tmp}/data`);

const deploy = objects.find((o) => o.kind === 'Deployment' && o.metadata.labels['app.kubernetes.io/component'] === 'api');
const config = objects.find((o) => o.kind === 'ConfigMap' && o.data && o.data['appliance.yaml']);
if (!deploy || !config) { console.log('FAIL no api Deployment or config ConfigMap rendered'); process.exit(1); }
const pod = deploy.spec.template.spec;
const container = pod.containers[0];

// Dummy contents for every file the pod mounts.
const dummy = (name) => (name.endsWith('.pem') ? fs.readFileSync('/etc/ssl/certs/ca-certificates.crt') : `dummy-${name}-0123456789abcdef\n`);
for (const mount of container.volumeMounts || []) {
  const volume = (pod.volumes || []).find((v) => v.name === mount.name);
  const dir = relocate(mount.mountPath + '/');
  fs.mkdirSync(dir, { recursive: true });
  if (volume.configMap && volume.configMap.name === config.metadata.name) {
    fs.writeFileSync(path.join(dir, 'appliance.yaml'), relocate(config.data['appliance.yaml']));
    continue;
  }
  const sources = volume.projected ? volume.projected.sources : [volume.secret || volume.configMap].filter(Boolean).map((s) => ({ secret: s }));
  for (const src of sources) {
    for (const item of (src.secret || src.configMap || {}).items || []) fs.writeFileSync(path.join(dir, item.path), dummy(item.path));
  }
}
const args = container.args.map(relocate);
const r = spawnSync(binary, [...args, '--check-config'], {
  cwd: sourceRoot, encoding: 'utf8', env: { PATH: process.env.PATH, HOSTNAME: 'chart-test' },
});
console.log(`${binary} ${args.join(' ')} --check-config`);
console.log((r.stdout + r.stderr).trim());
if (r.status !== 0) console.log(`FAIL --check-config exited ${r.status}`);
process.exit(r.status === 0 ? 0 : 1);
