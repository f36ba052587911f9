#!/usr/bin/env python3
"""End-to-end: `demand: scale_set` feeding `backend: kubernetes`, through the real binary.

  scaler_scaleset_k8s_e2e.py <appliance-binary> <fake_kube_apiserver.py> <fake_actions_service.py>

The fake Actions service pushes job assignments and statistics over the scale set's message
session; the scaler must start one runner pod per assigned job (totalAssignedJobs, not the
message count), each pod reading a JIT config that the scale set's generatejitconfig handed
out, from a Secret the pod owns. Neither the PAT, the Kubernetes token nor any JIT config may
appear in the log.
"""
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e_support import (eventually, free_port, log_text, start_fake_kube,  # noqa: E402
                         stop_process, write_atomic, write_kubeconfig)

PAT = "ghp_scaleset_k8s_e2e_token_never_logged_42"
KUBE_TOKEN = "kube-scaleset-e2e-token-never-logged"
NS = "ci"
BINARY = FAKE_KUBE = FAKE_ACTIONS = None


class ScaleSetOnKubernetes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="scaler-scaleset-k8s-e2e-")
        d = cls.dir.name
        token = os.path.join(d, "kube-token")
        write_atomic(token, KUBE_TOKEN)
        cls.kube_log = open(os.path.join(d, "kube.log"), "w+")
        cls.kube, cls.kube_url, cls.tls = start_fake_kube(FAKE_KUBE, d, token, cls.kube_log)

        cls.actions = subprocess.Popen([sys.executable, FAKE_ACTIONS, "--pat", PAT],
                                       stdout=subprocess.PIPE, text=True)
        cls.actions_url = "http://127.0.0.1:" + cls.actions.stdout.readline().split()[1]
        cls.control("settings", {"hold": 1})
        pat_file = os.path.join(d, "pat")
        write_atomic(pat_file, PAT + "\n")
        kubeconfig = os.path.join(d, "kubeconfig")
        write_kubeconfig(kubeconfig, cls.kube_url, d, token, NS)
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
    api_url: {cls.actions_url}
    config_url: https://github.com/acme
    token_file: {pat_file}
  kubernetes:
    kubeconfig: {kubeconfig}
    runner_scope: acme
    events: false
  pools:
    - name: linux
      labels: [linux]
      min: 0
      max: 10
      scale_down_delay: 10m
      demand: scale_set
      scale_set_name: seed-linux
""")
        cls.log = open(os.path.join(d, "appliance.log"), "w+")
        cls.proc = subprocess.Popen([BINARY, f"--config={config}", "--role=scaler"],
                                    stdout=cls.log, stderr=subprocess.STDOUT)
        if not eventually(lambda: cls.http_status("/readyz") == 200, timeout=20):
            out = cls.output()
            cls.tearDownClass()
            raise RuntimeError("the appliance did not become ready:\n" + out)

    @classmethod
    def tearDownClass(cls):
        stop_process(cls.proc, 30)
        for p in (cls.kube, cls.actions):
            p.kill()
            p.wait()
        cls.log.close()
        cls.kube_log.close()
        cls.dir.cleanup()

    @classmethod
    def output(cls):
        return log_text(cls.log)

    @classmethod
    def control(cls, what, body=None):
        rq = urllib.request.Request(f"{cls.actions_url}/_control/{what}",
                                    data=json.dumps(body).encode() if body is not None else None,
                                    method="POST" if body is not None else "GET",
                                    headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(rq, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    @classmethod
    def http_status(cls, path):
        try:
            with urllib.request.urlopen(f"http://{cls.listen}{path}", timeout=5) as r:
                return r.status
        except OSError:
            return 0

    @classmethod
    def kube_get(cls, path):
        rq = urllib.request.Request(cls.kube_url + path,
                                    headers={"Authorization": "Bearer " + KUBE_TOKEN})
        with urllib.request.urlopen(rq, context=cls.tls, timeout=10) as r:
            return json.loads(r.read())

    def runner_pods(self):
        body = self.kube_get(f"/api/v1/namespaces/{NS}/pods?labelSelector="
                             "runner-scaler.appliance.dev%2Fscaler%3Dappliance")
        return [p for p in body["items"] if not p["metadata"].get("deletionTimestamp")]

    def scale_set_id(self):
        sets = [s for s in self.control("state")["scaleSets"] if s["name"] == "seed-linux"]
        return sets[0]["id"] if sets else None

    def test_assigned_jobs_become_pods_with_scale_set_jit_configs(self):
        sid = eventually(self.scale_set_id, timeout=20)
        self.assertIsNotNone(sid, self.output())
        self.assertTrue(eventually(lambda: self.control("state")["sessions"].get(str(sid)),
                                   timeout=20), self.output())
        jobs = [{"messageType": "JobAssigned", "runnerRequestId": 500 + k, "jobId": str(500 + k),
                 "repositoryName": "infra", "ownerName": "acme", "requestLabels": ["seed-linux"]}
                for k in range(3)]
        start = time.time()
        self.control("enqueue", {"scaleSetId": sid, "jobs": jobs,
                                 "statistics": {"totalAssignedJobs": 2}})
        pods = eventually(lambda: len(self.runner_pods()) >= 2 and self.runner_pods(), 15)
        elapsed = time.time() - start
        self.assertTrue(pods, self.output())
        print(f"\n  scale-set message -> 2 runner pods: {elapsed * 1000:.0f} ms", file=sys.stderr)
        time.sleep(0.5)  # nothing more follows: statistics say 2, the messages 3
        pods = self.runner_pods()
        self.assertEqual(len(pods), 2, [p["metadata"]["name"] for p in pods])

        issued = self.control("state")["secrets"]
        for pod in pods:
            name = pod["metadata"]["name"]
            env = pod["spec"]["containers"][0]["env"]
            self.assertEqual(env, [{"name": "ACTIONS_RUNNER_INPUT_JITCONFIG", "valueFrom": {
                "secretKeyRef": {"name": name, "key": "jitconfig"}}}])
            self.assertEqual(pod["spec"]["restartPolicy"], "Never")
            secret = self.kube_get(f"/api/v1/namespaces/{NS}/secrets/{name}")
            jit = base64.b64decode(secret["data"]["jitconfig"]).decode()
            self.assertIn(jit, issued, "the JIT config comes from the scale set")
            self.assertNotIn(jit, json.dumps(pod))
            owned = eventually(lambda: self.kube_get(
                f"/api/v1/namespaces/{NS}/secrets/{name}")["metadata"].get("ownerReferences"), 5)
            self.assertTrue(owned, "the Secret is never handed to its pod")
            self.assertEqual(owned[0]["uid"], pod["metadata"]["uid"])
        runners = json.loads(urllib.request.urlopen(
            f"http://{self.listen}/runners", timeout=5).read())
        pool = next(p for p in runners["pools"] if p["name"] == "linux")
        self.assertEqual(pool["desired"], 2, json.dumps(pool))

        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        out = self.output()
        for secret in [PAT, KUBE_TOKEN] + self.control("state")["secrets"]:
            self.assertNotIn(secret, out)


if __name__ == "__main__":
    BINARY, FAKE_KUBE, FAKE_ACTIONS = map(os.path.abspath, sys.argv[1:4])
    del sys.argv[1:4]
    unittest.main(verbosity=2)
