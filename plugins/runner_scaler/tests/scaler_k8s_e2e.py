#!/usr/bin/env python3
"""End-to-end: the real appliance binary (role scaler, backend kubernetes) against the fake
Kubernetes API server (HTTPS, a CA made here, kubeconfig with tokenFile) and the fake GitHub.

  scaler_k8s_e2e.py <appliance-binary> [<fake_kube_apiserver.py>]

A queued job's webhook becomes a runner pod whose JIT config sits in an owned Secret; an idle
runner is deregistered and deleted after the scale-down delay, a busy one (GitHub 422) is kept;
a pod lost with its spot node is replaced while its job is still running; a rotated
service-account token is picked up; no token or JIT config appears in the log.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fake_github  # noqa: E402
from e2e_support import (eventually, free_port, log_text, read, start_fake_kube,  # noqa: E402
                         stop_process, write_atomic, write_kubeconfig)

SECRET = "k8s-e2e-webhook-secret"
PAT = "ghp_k8s_e2e_token_never_logged_0123456789"
KUBE_TOKEN = "kube-e2e-token-never-logged-abcdef"
LABELS = ["self-hosted", "linux", "terraform", "kubernetes"]
NS = "ci"
BINARY = None
FAKE_KUBE = os.path.join(HERE, "..", "..", "..", "tests", "fakes", "kube_apiserver",
                         "fake_kube_apiserver.py")
PG_SCRIPT = os.path.join(HERE, "..", "..", "..", "scripts", "pg-test-cluster.sh")


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def job_event(action, job_id, runner_name=None):
    status = {"queued": "queued", "in_progress": "in_progress", "completed": "completed"}[action]
    return json.dumps({
        "action": action,
        "workflow_job": {"id": job_id, "run_id": job_id // 10, "status": status,
                         "labels": LABELS, "runner_name": runner_name,
                         "created_at": now_iso(), "started_at": now_iso()},
        "repository": {"full_name": "acme/infra"},
    }).encode()


class ScalerKubernetesE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="scaler-k8s-e2e-")
        d = cls.dir.name
        cls.server_token = os.path.join(d, "server-token")  # what the fake accepts
        cls.client_token = os.path.join(d, "client-token")  # what the scaler presents
        write_atomic(cls.server_token, KUBE_TOKEN)
        write_atomic(cls.client_token, KUBE_TOKEN)
        cls.kube_log = open(os.path.join(d, "kube.log"), "w+")
        cls.kube, cls.kube_url, cls.tls = start_fake_kube(FAKE_KUBE, d, cls.server_token,
                                                          cls.kube_log)

        cls.github, cls.fake = fake_github.serve(PAT)
        api = f"http://127.0.0.1:{cls.github.server_address[1]}"
        pat_file = os.path.join(d, "pat")
        write_atomic(pat_file, PAT + "\n")
        kubeconfig = os.path.join(d, "kubeconfig")
        write_kubeconfig(kubeconfig, cls.kube_url, d, cls.client_token, NS)
        # The scaler's own pod, for its events.
        cls.kube_api("POST", f"/api/v1/namespaces/{NS}/pods", {
            "metadata": {"name": "scaler-0"},
            "spec": {"containers": [{"name": "scaler", "image": "appliance"}]}})
        cls.listen = f"127.0.0.1:{free_port()}"
        config = os.path.join(d, "scaler.yaml")
        write_atomic(config, f"""http: {{listen: "{cls.listen}", access_log: false}}
data: {{dir: {d}/data}}
roles: {{scaler: [runner_scaler]}}
runner_scaler:
  backend: kubernetes
  decision_interval: 100ms
  coalesce: 20ms
  github:
    api_url: {api}
    token_file: {pat_file}
    webhook_secret: "{SECRET}"
  kubernetes:
    kubeconfig: {kubeconfig}
    runner_scope: acme/infra
    maintain_interval: 1s
  pools:
    - name: linux
      labels: [linux, terraform, kubernetes]
      min: 0
      max: 20
      scale_down_delay: 2s
      runner:
        image: ghcr.io/actions/actions-runner:2.321.0
        work_volume_size: 20Gi
        node_selector: {{pool: spot}}
        tolerations: [{{key: spot, operator: Exists, effect: NoSchedule}}]
""")
        cls.log = open(os.path.join(d, "appliance.log"), "w+")
        env = dict(os.environ, POD_NAME="scaler-0", POD_NAMESPACE=NS)
        cls.proc = subprocess.Popen([BINARY, f"--config={config}", "--role=scaler"],
                                    stdout=cls.log, stderr=subprocess.STDOUT, env=env)
        if not eventually(lambda: cls.status("GET", "/readyz") == 200, timeout=20):
            out = cls.output()
            cls.tearDownClass()
            raise RuntimeError("the appliance did not become ready:\n" + out)

    @classmethod
    def tearDownClass(cls):
        stop_process(cls.proc, 20)
        cls.kube.terminate()
        try:
            cls.kube.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.kube.kill()
        cls.github.shutdown()
        # Once more over the whole log, flushed by the exit.
        text = cls.output()
        leaked = [s for s in [PAT, KUBE_TOKEN, "kube-e2e-rotated-token-123456", SECRET] +
                  list(cls.fake.issued_jit_configs) if s in text]
        cls.log.close()
        cls.kube_log.close()
        cls.dir.cleanup()
        if leaked:
            raise AssertionError("%d secrets appear in the log" % len(leaked))

    @classmethod
    def output(cls):
        return log_text(cls.log)

    @classmethod
    def kube_api(cls, method, path, body=None, token=None):
        rq = urllib.request.Request(
            cls.kube_url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": "Bearer " + (token or read(cls.server_token)),
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(rq, context=cls.tls, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    @classmethod
    def control(cls, path, body=None):
        return cls.kube_api("POST", "/_fake/" + path, body if body is not None else {})

    @classmethod
    def request(cls, method, path, body=b"", headers=None):
        rq = urllib.request.Request(f"http://{cls.listen}{path}", data=body or None,
                                    method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(rq, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    @classmethod
    def status(cls, method, path):
        return cls.request(method, path)[0]

    def deliver(self, body, delivery):
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        code, _ = self.request("POST", "/webhooks/github", body, {
            "X-Hub-Signature-256": sig, "X-GitHub-Event": "workflow_job",
            "X-GitHub-Delivery": delivery, "Content-Type": "application/json"})
        self.assertEqual(code, 202)

    def runner_pods(self):
        code, body = self.kube_api(
            "GET", f"/api/v1/namespaces/{NS}/pods?labelSelector="
            "runner-scaler.appliance.dev%2Fscaler%3Dappliance")
        self.assertEqual(code, 200)
        return [p for p in body["items"] if not p["metadata"].get("deletionTimestamp")]

    def pod_names(self):
        return sorted(p["metadata"]["name"] for p in self.runner_pods())

    def set_pod(self, name, patch):
        code, _ = self.control(f"objects/pods/{NS}/{name}", patch)
        self.assertEqual(code, 200)

    def ready(self, name):
        self.set_pod(name, {"status": {"phase": "Running",
                                       "conditions": [{"type": "Ready", "status": "True"}]}})

    def github_runner(self, name):
        with self.fake.lock:
            return next((dict(r) for r in self.fake.runners.values() if r["name"] == name), None)

    def pod_states(self):
        return json.dumps([(p["metadata"]["name"], p.get("status"))
                           for p in self.runner_pods()]) + "\n" + self.request(
                               "GET", "/runners", headers={"Accept": "application/json"})[1]

    def wait_no_pods(self, timeout=15):
        return eventually(lambda: not self.runner_pods(), timeout)

    def test_1_webhook_to_pod_with_secret_held_jit_config(self):
        start = time.time()
        self.deliver(job_event("queued", 1001), "d-1001")
        pods = eventually(self.runner_pods, 10)
        elapsed = time.time() - start
        self.assertEqual(len(pods), 1)
        print(f"\n  webhook -> pod created: {elapsed * 1000:.0f} ms", file=sys.stderr)
        pod = pods[0]
        name = pod["metadata"]["name"]
        self.assertEqual(pod["spec"]["restartPolicy"], "Never")
        env = pod["spec"]["containers"][0]["env"]
        self.assertEqual(env, [{"name": "ACTIONS_RUNNER_INPUT_JITCONFIG", "valueFrom": {
            "secretKeyRef": {"name": name, "key": "jitconfig"}}}])
        self.assertEqual(pod["spec"]["volumes"][0]["emptyDir"], {"sizeLimit": "20Gi"})
        self.assertEqual(pod["spec"]["nodeSelector"], {"pool": "spot"})
        runner = self.github_runner(name)
        self.assertIsNotNone(runner)
        self.assertEqual(sorted(runner["labels"]), sorted(LABELS))
        self.assertNotIn(runner["jit"], json.dumps(pod))
        code, secret = self.kube_api("GET", f"/api/v1/namespaces/{NS}/secrets/{name}")
        self.assertEqual(code, 200)
        self.assertEqual(base64.b64decode(secret["data"]["jitconfig"]).decode(), runner["jit"])
        self.assertEqual(secret["metadata"]["ownerReferences"][0]["uid"], pod["metadata"]["uid"])
        # The job runs on it and completes; the runner exits: pod and Secret go.
        self.ready(name)
        self.deliver(job_event("in_progress", 1001, name), "d-1001-p")
        self.deliver(job_event("completed", 1001, name), "d-1001-c")
        with self.fake.lock:
            self.fake.runners.pop(runner["id"], None)  # an ephemeral runner removes itself
        self.set_pod(name, {"status": {"phase": "Succeeded"}})
        self.assertTrue(self.wait_no_pods())
        self.assertEqual(self.kube_api("GET", f"/api/v1/namespaces/{NS}/secrets/{name}")[0], 404)

    def test_2_idle_runner_deregistered_then_deleted_busy_one_kept(self):
        self.deliver(job_event("queued", 2001), "d-2001")
        pods = eventually(self.runner_pods, 10)
        self.assertEqual(len(pods), 1)
        name = pods[0]["metadata"]["name"]
        self.ready(name)
        runner = self.github_runner(name)
        # GitHub gave it a job the scaler never heard of, and the queued job is cancelled.
        with self.fake.lock:
            self.fake.runners[runner["id"]]["busy"] = True
        self.deliver(job_event("completed", 2001), "d-2001-c")
        time.sleep(4)  # past the 2 s scale-down delay: removal tried and refused (422)
        self.assertEqual(self.pod_names(), [name])
        self.assertIsNotNone(self.github_runner(name))
        with self.fake.lock:
            self.fake.runners[runner["id"]]["busy"] = False
        self.assertTrue(self.wait_no_pods(), self.pod_states())
        self.assertIsNone(self.github_runner(name))

    def test_3_spot_eviction_replaced_while_the_job_is_still_running(self):
        self.kube_api("POST", "/api/v1/nodes", {"metadata": {"name": "spot-a"}})
        self.deliver(job_event("queued", 3001), "d-3001")
        pods = eventually(self.runner_pods, 10)
        name = pods[0]["metadata"]["name"]
        self.set_pod(name, {"spec": {"nodeName": "spot-a"}})
        self.ready(name)
        self.deliver(job_event("in_progress", 3001, name), "d-3001-p")
        time.sleep(0.5)
        self.assertEqual(self.control("nodes/spot-a/gone")[0], 200)
        # The job is still in progress for GitHub: a replacement pod starts.
        replacement = eventually(
            lambda: [p for p in self.pod_names() if p != name] or None, 10)
        self.assertTrue(replacement, self.output()[-3000:])
        self.deliver(job_event("completed", 3001, name), "d-3001-c")
        for p in replacement:
            self.set_pod(p, {"status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True"}]}})
        self.assertTrue(self.wait_no_pods(20), self.pod_states())

    def test_4_rotated_service_account_token_is_picked_up(self):
        rotated = "kube-e2e-rotated-token-123456"
        write_atomic(self.server_token, rotated)
        write_atomic(self.client_token, rotated)
        self.deliver(job_event("queued", 4001), "d-4001")
        pods = eventually(self.runner_pods, 10)
        self.assertEqual(len(pods), 1, self.output()[-2000:])
        self.deliver(job_event("completed", 4001), "d-4001-c")
        self.ready(pods[0]["metadata"]["name"])
        self.assertTrue(self.wait_no_pods(), self.pod_states())

    def test_5_orphans_are_cleaned_up_and_decisions_are_events(self):
        # A crash between the Secret and the pod leaves a Secret of this scaler with no pod,
        # and a registration that no runner will ever use; maintain() (every 1 s here) removes
        # both, and nothing that belongs to another scaler.
        for name, scaler in (("appliance-linux-0000abcd", "appliance"),
                             ("other-linux-0000abcd", "other")):
            code, _ = self.kube_api("POST", f"/api/v1/namespaces/{NS}/secrets", {
                "metadata": {"name": name,
                             "labels": {"runner-scaler.appliance.dev/scaler": scaler}},
                "stringData": {"jitconfig": "x"}})
            self.assertEqual(code, 201)
        api = f"http://127.0.0.1:{self.github.server_address[1]}"
        for name in ("appliance-linux-0badf00d", "someone-elses-runner"):
            rq = urllib.request.Request(
                api + "/repos/acme/infra/actions/runners/generate-jitconfig", method="POST",
                data=json.dumps({"name": name, "runner_group_id": 1,
                                 "labels": ["self-hosted"]}).encode(),
                headers={"Authorization": "Bearer " + PAT, "Content-Type": "application/json"})
            with urllib.request.urlopen(rq, timeout=10) as r:
                self.assertEqual(r.status, 201)
        secret = f"/api/v1/namespaces/{NS}/secrets/"
        self.assertTrue(eventually(
            lambda: self.kube_api("GET", secret + "appliance-linux-0000abcd")[0] == 404, 10),
            self.output()[-2000:])
        self.assertTrue(eventually(
            lambda: self.github_runner("appliance-linux-0badf00d") is None, 10))
        self.assertEqual(self.kube_api("GET", secret + "other-linux-0000abcd")[0], 200)
        self.assertIsNotNone(self.github_runner("someone-elses-runner"))

        # Every scale decision so far is an Event on the scaler's own pod.
        code, events = self.kube_api("GET", f"/api/v1/namespaces/{NS}/events")
        self.assertEqual(code, 200)
        mine = [e for e in events["items"] if e["involvedObject"]["name"] == "scaler-0"]
        reasons = {e["reason"] for e in mine}
        self.assertIn("ScaledUp", reasons, json.dumps(mine)[:2000])
        self.assertIn("ScaledDown", reasons, json.dumps(mine)[:2000])

    def test_9_no_token_or_jit_config_in_the_log(self):
        text = self.output()
        self.assertIn("runner pod created", text)
        for secret in (PAT, KUBE_TOKEN, "kube-e2e-rotated-token-123456", SECRET):
            self.assertNotIn(secret, text)
        with self.fake.lock:
            jits = list(self.fake.issued_jit_configs)
        self.assertTrue(jits)
        for jit in jits:
            self.assertNotIn(jit, text)


class LeaseFailover(unittest.TestCase):
    """Issue #12: "Lease failover between two scaler processes with no duplicate pods and no
    lost demand", with the real Kubernetes supply side on both replicas."""
    LEASE = 4  # seconds; renew every second

    @classmethod
    def setUpClass(cls):
        cls.procs = {}
        cls.kube = cls.github = None
        cls.dir = tempfile.TemporaryDirectory(prefix="scaler-k8s-ha-e2e-")
        d = cls.dir.name
        os.chmod(d, 0o755)  # the cluster may run as the postgres user
        cls.state = os.path.join(d, "pg.state")
        out = subprocess.run([PG_SCRIPT, "start", cls.state], capture_output=True, text=True)
        if out.returncode != 0:
            cls.dir.cleanup()
            raise RuntimeError("cannot start PostgreSQL: " + out.stderr)
        pg_url = out.stdout.strip().splitlines()[-1]
        try:
            cls.start_fakes_and_scalers(d, pg_url)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def start_fakes_and_scalers(cls, d, pg_url):
        token_file = cls.server_token = os.path.join(d, "kube-token")
        write_atomic(token_file, KUBE_TOKEN)
        cls.kube_log = open(os.path.join(d, "kube.log"), "w+")
        cls.kube, cls.kube_url, cls.tls = start_fake_kube(FAKE_KUBE, d, token_file, cls.kube_log)
        cls.github, cls.fake = fake_github.serve(PAT)
        api = f"http://127.0.0.1:{cls.github.server_address[1]}"
        pat_file = os.path.join(d, "pat")
        write_atomic(pat_file, PAT + "\n")
        kubeconfig = os.path.join(d, "kubeconfig")
        write_kubeconfig(kubeconfig, cls.kube_url, d, token_file, NS)
        for name in ("scaler-a", "scaler-b"):  # the scalers' own pods, for their events
            cls.kube_api("POST", f"/api/v1/namespaces/{NS}/pods", {
                "metadata": {"name": name},
                "spec": {"containers": [{"name": "scaler", "image": "appliance"}]}})
        for name in ("scaler-a", "scaler-b"):
            listen, metrics = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
            config = os.path.join(d, f"{name}.yaml")
            write_atomic(config, f"""http: {{listen: "{listen}", access_log: false}}
data: {{dir: {d}/data-{name}}}
instance: {{id: {name}}}
roles: {{scaler: [storage_postgres, runner_scaler, metrics_exporter]}}
storage_postgres: {{url: "{pg_url}", sslmode: disable}}
metrics_exporter: {{listen: "{metrics}"}}
runner_scaler:
  backend: kubernetes
  decision_interval: 100ms
  coalesce: 20ms
  store_sync_interval: 300ms
  leader_election: {{backend: kubernetes, kubeconfig: {kubeconfig}, namespace: {NS},
                    lease_name: runner-scaler, lease_duration: {cls.LEASE}s, renew_period: 1s}}
  github:
    api_url: {api}
    token_file: {pat_file}
    webhook_secret: "{SECRET}"
  kubernetes:
    kubeconfig: {kubeconfig}
    runner_scope: acme/infra
    maintain_interval: 1s
  pools:
    - name: linux
      labels: [linux, terraform, kubernetes]
      min: 0
      max: 20
      scale_down_delay: 10m
      runner:
        image: ghcr.io/actions/actions-runner:2.321.0
        work_volume_size: 20Gi
""")
            log = open(os.path.join(d, f"{name}.log"), "w+")
            env = dict(os.environ, POD_NAME=name, POD_NAMESPACE=NS)
            proc = subprocess.Popen([BINARY, f"--config={config}", "--role=scaler"],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
            cls.procs[name] = {"proc": proc, "log": log, "listen": listen, "metrics": metrics}
        for name in cls.procs:
            if not eventually(lambda: cls.http(name, "GET", "/readyz")[0] == 200, timeout=30):
                raise RuntimeError(f"{name} did not become ready:\n" + cls.output(name))

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs.values():
            stop_process(p["proc"], 20)
        if cls.kube:
            cls.kube.terminate()
            try:
                cls.kube.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.kube.kill()
            cls.kube_log.close()
        if cls.github:
            cls.github.shutdown()
        leaked = []
        if cls.github:
            secrets = [PAT, KUBE_TOKEN, SECRET] + list(cls.fake.issued_jit_configs)
            for name in cls.procs:
                text = cls.output(name)
                leaked += [name for s in secrets if s in text]
        for p in cls.procs.values():
            p["log"].close()
        subprocess.run([PG_SCRIPT, "stop", cls.state], capture_output=True)
        cls.dir.cleanup()
        if leaked:
            raise AssertionError("secrets appear in the logs of %s" % sorted(set(leaked)))

    @classmethod
    def output(cls, name):
        return log_text(cls.procs[name]["log"])

    @classmethod
    def http(cls, name, method, path, body=b"", headers=None):
        rq = urllib.request.Request(f"http://{cls.procs[name]['listen']}{path}",
                                    data=body or None, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(rq, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    kube_api = classmethod(ScalerKubernetesE2E.kube_api.__func__)
    runner_pods = ScalerKubernetesE2E.runner_pods
    pod_names = ScalerKubernetesE2E.pod_names

    def metric(self, name, metric):
        try:
            with urllib.request.urlopen(f"http://{self.procs[name]['metrics']}/metrics",
                                        timeout=5) as r:
                body = r.read().decode()
        except OSError:
            return None
        m = re.search(r"^" + re.escape(metric) + r"(?:\{\})? ([0-9.e+-]+)$", body, re.M)
        return float(m.group(1)) if m else None

    def leaders(self):
        return [n for n, p in self.procs.items()
                if p["proc"].poll() is None and self.metric(n, "appliance_scaler_leader") == 1]

    def pool(self, name):
        code, body = self.http(name, "GET", "/runners", headers={"Accept": "application/json"})
        if code != 200:
            return None
        return next(p for p in json.loads(body)["pools"] if p["name"] == "linux")

    def deliver(self, name, body, delivery):
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        code, _ = self.http(name, "POST", "/webhooks/github", body, {
            "X-Hub-Signature-256": sig, "X-GitHub-Event": "workflow_job",
            "X-GitHub-Delivery": delivery, "Content-Type": "application/json"})
        self.assertEqual(code, 202)

    def holder(self):
        code, lease = self.kube_api(
            "GET", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/runner-scaler")
        return lease["spec"].get("holderIdentity") if code == 200 else None

    def test_failover_no_duplicate_pods_no_lost_demand(self):
        n, m = 4, 3
        # Exactly one leads, both agree, and the Lease names it.
        self.assertTrue(eventually(lambda: len(self.leaders()) == 1, timeout=20),
                        self.output("scaler-a")[-2000:] + self.output("scaler-b")[-2000:])
        time.sleep(2)  # two more renewals: still exactly one
        leaders = self.leaders()
        self.assertEqual(len(leaders), 1)
        leader = leaders[0]
        follower = "scaler-b" if leader == "scaler-a" else "scaler-a"
        self.assertEqual(self.metric(follower, "appliance_scaler_leader"), 0)
        self.assertEqual(self.holder(), leader)

        # N queued jobs, all sent to the follower: the leader creates exactly N pods.
        for k in range(n):
            self.deliver(follower, job_event("queued", 7000 + k), f"ha-q-{k}")
        self.assertTrue(eventually(lambda: len(self.runner_pods()) == n, timeout=15),
                        self.pod_names())
        time.sleep(1.5)  # several decision intervals and store syncs later: still N
        before = self.pod_names()
        self.assertEqual(len(before), n, before)
        self.assertEqual(len(set(before)), n)
        # The follower sees the leader's pods through its own watch, but never creates any.
        self.assertEqual(self.pool(follower)["supply"]["current"], n, "seen through its watch")
        self.assertEqual(self.output(leader).count("runner pod created"), n)
        self.assertEqual(self.output(follower).count("runner pod created"), 0,
                         "a follower never acts")
        self.assertEqual(self.pool(follower)["demand"]["queued"], n, "the follower sees it")
        self.assertEqual(self.pool(leader)["demand"]["queued"], n)
        created_by = [p["metadata"]["labels"].get("runner-scaler.appliance.dev/pool")
                      for p in self.runner_pods()]
        self.assertEqual(created_by, ["linux"] * n)

        # kill -9 the leader; M more queued jobs go to the survivor at once, before takeover.
        killed = time.time()
        self.procs[leader]["proc"].send_signal(signal.SIGKILL)
        self.procs[leader]["proc"].wait(timeout=10)
        for k in range(m):
            self.deliver(follower, job_event("queued", 7100 + k), f"ha-q2-{k}")
        self.assertEqual(self.pod_names(), before, "nobody acts while the lease is held")
        self.assertTrue(eventually(lambda: self.metric(follower, "appliance_scaler_leader") == 1,
                                   timeout=self.LEASE + 10), self.output(follower)[-3000:])
        print(f"\n  k8s lease taken over {time.time() - killed:.2f} s after kill -9 "
              f"(leaseDurationSeconds {self.LEASE})", file=sys.stderr)
        self.assertEqual(self.holder(), follower)
        self.assertTrue(eventually(lambda: len(self.runner_pods()) == n + m, timeout=15),
                        self.pod_names())
        time.sleep(2)  # many decision intervals later: no duplicates appear
        after = self.pod_names()
        self.assertEqual(len(after), n + m, after)
        self.assertEqual(len(set(after)), n + m, "pod names unique")
        self.assertTrue(set(before) <= set(after), "the old leader's pods are kept, not replaced")
        self.assertEqual(self.output(follower).count("runner pod created"), m,
                         "the new leader created only the new demand's pods")
        pool = self.pool(follower)
        self.assertEqual(pool["demand"]["queued"], n + m, "every job's demand kept")
        self.assertEqual(pool["supply"]["current"], n + m, json.dumps(pool))
        self.assertEqual(pool["desired"], n + m)
        # One registration and one Secret per pod, none left over.
        with self.fake.lock:
            registered = sorted(r["name"] for r in self.fake.runners.values())
        self.assertEqual(registered, after)
        code, secrets = self.kube_api("GET", f"/api/v1/namespaces/{NS}/secrets")
        self.assertEqual(code, 200)
        self.assertEqual(sorted(s["metadata"]["name"] for s in secrets["items"]
                                if s["metadata"]["name"] in after), after)
        # No JIT config, token or webhook secret in either log.
        with self.fake.lock:
            jits = list(self.fake.issued_jit_configs)
        self.assertEqual(len(jits), n + m)
        for name in self.procs:
            text = self.output(name)
            for secret in [PAT, KUBE_TOKEN, SECRET] + jits:
                self.assertNotIn(secret, text, name)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    if len(sys.argv) > 1 and sys.argv[1].endswith(".py"):
        FAKE_KUBE = sys.argv.pop(1)
    if len(sys.argv) > 1 and sys.argv[1].endswith(".sh"):
        PG_SCRIPT = sys.argv.pop(1)
    unittest.main(verbosity=2)
