#!/usr/bin/env python3
"""End-to-end for issue #12: the real appliance binary (role scaler), several processes.

  scaler_ha_e2e.py <appliance-binary> <pg-test-cluster.sh> <fake_actions_service.py>
                   <fake_kube_apiserver.py>

HighAvailability: two `appliance --role=scaler` processes on one real PostgreSQL 15 (started
here with scripts/pg-test-cluster.sh, or the one in $APPLIANCE_TEST_PG_STATE), dry_run
backend, kv leader election: exactly one leads (/metrics appliance_scaler_leader), a webhook
sent to the follower is acted on by the leader, and after `kill -9` of the leader the other
takes over within about a lease duration and still has the demand.

KubernetesLease: three scalers elect through a coordination.k8s.io/v1 Lease on the fake API
server (HTTPS, test CA, kubeconfig token): holderIdentity = instance id, takeover after kill -9
once leaseDurationSeconds passed, the lease released on SIGTERM and taken at once.

ScaleSetFailover: two scalers with a scale-set pool on one PostgreSQL: only the leader holds
the session; after kill -9 the new leader acts at once on the statistics the old one stored,
waits out the old session (409), then follows its own.

ScaleSet: one scaler with a `demand: scale_set` pool against the fake Actions service:
statistics drive desired; after `kill -9` the restarted process waits out the session
conflict (409) its dead predecessor left, without exiting, and then follows the statistics.
Everything on 127.0.0.1; processes, the fake and the cluster are stopped at the end.
"""
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import eventually, free_port, log_text, stop_process  # noqa: E402

SECRET = "ha-webhook-secret-never-logged"
PAT = "ghp_scaleset_e2e_token_never_logged_42"
LABELS = ["self-hosted", "linux", "terraform", "kubernetes"]
BINARY = PG_SCRIPT = FAKE_ACTIONS = KUBE_FAKE = None


def http(method, url, body=b"", headers=None, timeout=10):
    rq = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(rq, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


class Scaler:
    """One appliance --role=scaler process."""

    def __init__(self, directory, name, runner_scaler_yaml, extra_roles=(), extra_yaml=""):
        self.name = name
        self.dir = directory
        self.listen = f"127.0.0.1:{free_port()}"
        self.metrics_listen = f"127.0.0.1:{free_port()}"
        self.config = os.path.join(directory, f"{name}.yaml")
        roles = ", ".join(list(extra_roles) + ["runner_scaler", "metrics_exporter"])
        with open(self.config, "w") as f:
            f.write(f"""http: {{listen: "{self.listen}", access_log: false}}
data: {{dir: {directory}/data-{name}}}
instance: {{id: {name}}}
roles: {{scaler: [{roles}]}}
metrics_exporter: {{listen: "{self.metrics_listen}"}}
{extra_yaml}runner_scaler:
{runner_scaler_yaml}""")
        self.log = open(os.path.join(directory, f"{name}.log"), "w+")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([BINARY, f"--config={self.config}", "--role=scaler"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not eventually(lambda: self.status("/readyz") == 200 or self.proc.poll() is not None,
                          timeout=30) or self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} did not become ready:\n" + self.output())

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc:
            stop_process(self.proc, 30)
        self.log.close()

    def output(self):
        return log_text(self.log)

    def request(self, method, path, body=b"", headers=None):
        return http(method, f"http://{self.listen}{path}", body, headers)

    def status(self, path):
        return self.request("GET", path)[0]

    def metric(self, name):
        status, body = http("GET", f"http://{self.metrics_listen}/metrics")
        if status != 200:
            return None
        m = re.search(r"^" + re.escape(name) + r"(?:\{\})? ([0-9.e+-]+)$", body, re.M)
        return float(m.group(1)) if m else None

    def runners(self):
        status, body = self.request("GET", "/runners")
        return json.loads(body) if status == 200 else None

    def pool(self, name="linux"):
        r = self.runners()
        return next(p for p in r["pools"] if p["name"] == name) if r else None

    def deliver(self, body, delivery):
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return self.request("POST", "/webhooks/github", body, {
            "X-Hub-Signature-256": sig, "X-GitHub-Event": "workflow_job",
            "X-GitHub-Delivery": delivery, "Content-Type": "application/json"})[0]


def fake_control(fake_url, what, body=None):
    """POST (or GET without a body) /_control/<what> of the fake Actions service."""
    status, text = http("POST" if body is not None else "GET", fake_url + "/_control/" + what,
                        json.dumps(body).encode() if body is not None else b"",
                        {"Content-Type": "application/json"})
    assert status == 200, (what, status, text)
    return json.loads(text)


def job_event(action, job_id):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps({
        "action": action,
        "workflow_job": {"id": job_id, "run_id": job_id // 10, "status": action,
                         "labels": LABELS, "runner_name": None, "created_at": now,
                         "started_at": now},
        "repository": {"full_name": "acme/infra"}}).encode()


class HighAvailability(unittest.TestCase):
    LEASE = 6  # seconds; renew every 2 s

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="scaler-ha-e2e-")
        d = cls.tmp.name
        os.chmod(d, 0o755)  # the cluster may run as the postgres user
        cls.state = os.path.join(d, "pg.state")
        out = subprocess.run([PG_SCRIPT, "start", cls.state], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("cannot start PostgreSQL: " + out.stderr)
        url = out.stdout.strip().splitlines()[-1]
        runner_scaler = f"""  backend: dry_run
  dry_run: {{boot_delay: 1s}}
  decision_interval: 200ms
  coalesce: 100ms
  store_sync_interval: 500ms
  leader_election: {{backend: kv, lease_duration: {cls.LEASE}s, renew_period: 2s}}
  github: {{webhook_secret: "{SECRET}"}}
  pools:
    - {{name: linux, labels: [linux, terraform, kubernetes], min: 0, max: 20,
       scale_down_delay: 10m}}
"""
        pg = f"storage_postgres: {{url: \"{url}\", sslmode: disable}}\n"
        cls.a = Scaler(d, "scaler-a", runner_scaler, ["storage_postgres"], pg)
        cls.b = Scaler(d, "scaler-b", runner_scaler, ["storage_postgres"], pg)
        try:
            cls.a.start()
            cls.b.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in (cls.a, cls.b):
            s.stop()
        subprocess.run([PG_SCRIPT, "stop", cls.state], capture_output=True)
        cls.tmp.cleanup()

    def leaders(self):
        return [s for s in (self.a, self.b)
                if s.proc.poll() is None and s.metric("appliance_scaler_leader") == 1]

    def test_failover(self):
        # Exactly one leads, and both agree who.
        self.assertTrue(eventually(lambda: len(self.leaders()) == 1, timeout=20),
                        self.a.output() + self.b.output())
        time.sleep(2)  # one more renewal: still one
        leaders = self.leaders()
        self.assertEqual(len(leaders), 1)
        leader = leaders[0]
        follower = self.b if leader is self.a else self.a
        self.assertEqual(follower.metric("appliance_scaler_leader"), 0)
        self.assertEqual(follower.runners()["leader"],
                         {"this_replica": False, "holder": leader.name})
        self.assertEqual(leader.runners()["leader"], {"this_replica": True, "holder": leader.name})

        # A webhook to the follower: recorded in PostgreSQL, acted on by the leader.
        sent = time.time()
        for k in range(3):
            self.assertEqual(follower.deliver(job_event("queued", 5000 + k), f"d-{k}"), 202)
        self.assertTrue(eventually(lambda: leader.pool()["supply"]["current"] == 3, timeout=10),
                        json.dumps(leader.pool()))
        print(f"\n  follower webhook -> leader runners: {time.time() - sent:.2f} s", file=sys.stderr)
        self.assertEqual(leader.pool()["demand"]["queued"], 3)
        self.assertEqual(follower.pool()["supply"]["current"], 0, "a follower never acts")
        self.assertEqual(follower.pool()["demand"]["queued"], 3, "the follower sees it too")

        # kill -9 the leader: the follower takes over after the lease expires, with the demand.
        killed = time.time()
        leader.kill9()
        self.assertTrue(eventually(lambda: follower.metric("appliance_scaler_leader") == 1,
                                   timeout=self.LEASE + 10), follower.output())
        took = time.time() - killed
        print(f"  takeover after kill -9: {took:.2f} s (lease {self.LEASE} s)", file=sys.stderr)
        self.assertLess(took, self.LEASE + 5)
        self.assertTrue(eventually(lambda: follower.pool()["supply"]["current"] == 3, timeout=10),
                        json.dumps(follower.pool()))
        self.assertEqual(follower.pool()["demand"]["queued"], 3, "no demand lost")
        time.sleep(1)
        self.assertEqual(follower.pool()["supply"]["current"], 3, "no duplicates")
        self.assertEqual(follower.runners()["leader"],
                         {"this_replica": True, "holder": follower.name})
        # New demand after the failover goes to the new leader.
        self.assertEqual(follower.deliver(job_event("queued", 5010), "d-10"), 202)
        self.assertTrue(eventually(lambda: follower.pool()["supply"]["current"] == 4, timeout=10))
        for s in (self.a, self.b):
            self.assertNotIn(SECRET, s.output())


class KubernetesLease(unittest.TestCase):
    """Two scalers elect a leader with a coordination.k8s.io/v1 Lease on the fake API server
    (HTTPS with a test CA, bearer token from a kubeconfig)."""
    LEASE = 4

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="scaler-lease-e2e-")
        d = cls.tmp.name
        subprocess.run(
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=fake-kube-ca "
            "-keyout ca.key -out ca.pem && openssl req -newkey rsa:2048 -nodes "
            "-subj /CN=kube-apiserver -keyout server.key -out server.csr && "
            "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
            "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
            "-extfile san.ext -out server.pem", shell=True, cwd=d, check=True,
            capture_output=True)
        cls.token = "lease-e2e-token-never-logged"
        with open(os.path.join(d, "token"), "w") as f:
            f.write(cls.token)
        cls.kube = subprocess.Popen(
            [sys.executable, KUBE_FAKE, "--cert", "server.pem", "--key", "server.key",
             "--ca", "ca.pem", "--token-file", "token", "--port-file", "port"],
            cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def port_file():
            try:
                with open(os.path.join(d, "port")) as f:
                    return f.read().strip()
            except OSError:
                return None
        port = eventually(port_file, timeout=20)
        if not port:
            cls.kube.kill()
            raise RuntimeError("the fake Kubernetes API server did not start")
        cls.server = f"https://127.0.0.1:{port}"
        kubeconfig = os.path.join(d, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters: [{{name: fake, cluster: {{server: "{cls.server}", certificate-authority: {d}/ca.pem}}}}]
users: [{{name: ci, user: {{token: {cls.token}}}}}]
contexts: [{{name: fake, context: {{cluster: fake, user: ci, namespace: ci}}}}]
current-context: fake
""")
        runner_scaler = f"""  backend: dry_run
  decision_interval: 200ms
  leader_election: {{backend: kubernetes, kubeconfig: {kubeconfig}, namespace: ci,
                    lease_name: runner-scaler, lease_duration: {cls.LEASE}s, renew_period: 1s}}
  github: {{webhook_secret: "{SECRET}"}}
  pools:
    - {{name: linux, labels: [linux], min: 0, max: 5}}
"""
        cls.a = Scaler(d, "scaler-pod-a", runner_scaler)
        cls.b = Scaler(d, "scaler-pod-b", runner_scaler)
        cls.c = Scaler(d, "scaler-pod-c", runner_scaler)
        try:
            cls.a.start()
            cls.b.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in (cls.a, cls.b, cls.c):
            s.stop()
        cls.kube.kill()
        cls.kube.wait()
        cls.tmp.cleanup()

    def lease(self):
        import ssl
        ctx = ssl.create_default_context(cafile=os.path.join(self.tmp.name, "ca.pem"))
        rq = urllib.request.Request(
            self.server + "/apis/coordination.k8s.io/v1/namespaces/ci/leases/runner-scaler",
            headers={"Authorization": "Bearer " + self.token})
        try:
            with urllib.request.urlopen(rq, timeout=5, context=ctx) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError:
            return None

    def holder(self):
        lease = self.lease()
        return lease["spec"].get("holderIdentity", "") if lease else None

    def test_lease_failover_and_release(self):
        self.assertTrue(eventually(lambda: self.holder() in ("scaler-pod-a", "scaler-pod-b"),
                                   timeout=20), self.a.output())
        spec = self.lease()["spec"]
        self.assertEqual(spec["leaseDurationSeconds"], self.LEASE)
        leader = self.a if self.holder() == "scaler-pod-a" else self.b
        follower = self.b if leader is self.a else self.a
        self.assertTrue(eventually(lambda: leader.metric("appliance_scaler_leader") == 1))
        self.assertEqual(follower.metric("appliance_scaler_leader"), 0)
        self.assertEqual(follower.runners()["leader"]["holder"], leader.name)
        _, html = follower.request("GET", "/runners", headers={"Accept": "text/html"})
        self.assertIn("Leader: " + leader.name, html)
        # kill -9: taken over after the lease expires, the transition counted.
        transitions = spec.get("leaseTransitions", 0)
        killed = time.time()
        leader.kill9()
        self.assertTrue(eventually(lambda: self.holder() == follower.name,
                                   timeout=self.LEASE + 10))
        self.assertTrue(eventually(lambda: follower.metric("appliance_scaler_leader") == 1))
        print(f"\n  lease taken over {time.time() - killed:.2f} s after kill -9 "
              f"(leaseDurationSeconds {self.LEASE})", file=sys.stderr)
        self.assertGreater(self.lease()["spec"].get("leaseTransitions", 0), transitions)
        # A graceful stop releases the lease: a third replica takes it without waiting.
        self.c.start()
        self.assertTrue(eventually(lambda: self.c.metric("appliance_scaler_leader") == 0))
        stopped = time.time()
        follower.proc.send_signal(signal.SIGTERM)
        follower.proc.wait(timeout=30)
        self.assertTrue(eventually(lambda: self.holder() == self.c.name, timeout=self.LEASE + 5))
        took = time.time() - stopped
        print(f"  released on SIGTERM, next holder after {took:.2f} s", file=sys.stderr)
        self.assertLess(took, self.LEASE, "released, not expired")
        for s in (self.a, self.b, self.c):
            self.assertNotIn(self.token, s.output())


class ScaleSet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="scaler-scaleset-e2e-")
        d = cls.tmp.name
        cls.fake = subprocess.Popen([sys.executable, FAKE_ACTIONS, "--pat", PAT],
                                    stdout=subprocess.PIPE, text=True)
        cls.fake_url = "http://127.0.0.1:" + cls.fake.stdout.readline().split()[1]
        cls.control("settings", {"hold": 1, "sessionTimeout": 8})
        token = os.path.join(d, "token")
        with open(token, "w") as f:
            f.write(PAT + "\n")
        runner_scaler = f"""  backend: dry_run
  dry_run: {{boot_delay: 1s}}
  decision_interval: 200ms
  github:
    api_url: {cls.fake_url}
    config_url: https://github.com/acme
    token_file: {token}
  pools:
    - {{name: linux, labels: [linux], min: 0, max: 10, scale_down_delay: 10m,
       demand: scale_set, scale_set_name: seed-linux}}
"""
        cls.scaler = Scaler(d, "scaler-0", runner_scaler)

    @classmethod
    def tearDownClass(cls):
        cls.scaler.stop()
        cls.fake.kill()
        cls.fake.wait()
        cls.tmp.cleanup()

    @classmethod
    def control(cls, what, body=None):
        return fake_control(cls.fake_url, what, body)

    def scale_set_id(self):
        sets = [s for s in self.control("state")["scaleSets"] if s["name"] == "seed-linux"]
        return sets[0]["id"] if sets else None

    def session(self, sid):
        return self.control("state")["sessions"].get(str(sid))

    def test_statistics_drive_desired_and_a_kill9_conflict_is_waited_out(self):
        s = self.scaler
        s.start()
        sid = eventually(self.scale_set_id, timeout=15)
        self.assertIsNotNone(sid, s.output())
        self.assertTrue(eventually(lambda: self.session(sid), timeout=15), s.output())
        jobs = [{"messageType": "JobAssigned", "runnerRequestId": 70 + k, "jobId": str(70 + k),
                 "repositoryName": "infra", "ownerName": "acme", "requestLabels": ["seed-linux"]}
                for k in range(5)]
        self.control("enqueue", {"scaleSetId": sid, "jobs": jobs,
                                 "statistics": {"totalAssignedJobs": 3}})
        self.assertTrue(eventually(lambda: s.pool()["desired"] == 3, timeout=10),
                        json.dumps(s.pool()))
        self.assertEqual(s.pool()["supply"]["current"], 3, "3 assigned, not 5 messages")

        # kill -9: the dead process's session stays until the service expires it (8 s here).
        s.kill9()
        s.log.close()
        s.log = open(s.log.name, "a+")
        s.start()
        pid = s.proc.pid
        self.assertTrue(eventually(lambda: "active session" in s.output(), timeout=20),
                        s.output())
        waiting = s.pool()["scale_set"]
        self.assertTrue(waiting["polling"])
        self.assertFalse(waiting["session"])
        self.assertGreaterEqual(waiting["conflict_retries"], 1)
        self.assertIn("conflict", waiting["last_error"].lower())
        creates = self.control("state")["sessionCreates"]
        self.assertIn(409, [c[1] for c in creates])
        self.control("statistics", {"scaleSetId": sid, "statistics": {"totalAssignedJobs": 6}})
        self.assertTrue(eventually(lambda: s.pool()["desired"] == 6, timeout=60), s.output())
        self.assertIsNone(s.proc.poll(), "no exit, no crash loop")
        self.assertEqual(s.proc.pid, pid)
        creates = self.control("state")["sessionCreates"]
        self.assertEqual(creates[-1][1], 200, creates)
        recovered = s.pool()["scale_set"]
        self.assertTrue(recovered["session"])
        self.assertIsNone(recovered["last_error"])
        self.assertEqual(recovered["statistics"]["total_assigned_jobs"], 6)
        self.assertEqual(recovered["id"], sid)
        conflicts = [c for c in creates if c[1] == 409]
        print(f"\n  session conflict waited out after {len(conflicts)} x 409, "
              f"{creates[-1][0] - conflicts[0][0]:.1f} s", file=sys.stderr)
        self.assertEqual(s.metric("appliance_scaler_leader"), 1)
        # Graceful stop deletes the session: a successor starts without a conflict.
        s.proc.send_signal(signal.SIGTERM)
        s.proc.wait(timeout=40)
        self.assertTrue(eventually(lambda: self.session(sid) is None, timeout=5))
        out = s.output()
        for secret in self.control("state")["secrets"] + [PAT]:
            self.assertNotIn(secret, out)


class ScaleSetFailover(unittest.TestCase):
    """Two scalers with a scale-set pool on one PostgreSQL: only the leader holds a session;
    after kill -9 the new leader acts on the last statistics at once, waits out the dead
    leader's session, then follows its own."""
    LEASE = 4

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="scaler-ssha-e2e-")
        d = cls.tmp.name
        os.chmod(d, 0o755)
        cls.state = os.path.join(d, "pg.state")
        out = subprocess.run([PG_SCRIPT, "start", cls.state], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("cannot start PostgreSQL: " + out.stderr)
        url = out.stdout.strip().splitlines()[-1]
        cls.fake = subprocess.Popen([sys.executable, FAKE_ACTIONS, "--pat", PAT],
                                    stdout=subprocess.PIPE, text=True)
        cls.fake_url = "http://127.0.0.1:" + cls.fake.stdout.readline().split()[1]
        cls.control("settings", {"hold": 1, "sessionTimeout": 6})
        token = os.path.join(d, "token")
        with open(token, "w") as f:
            f.write(PAT + "\n")
        runner_scaler = f"""  backend: dry_run
  dry_run: {{boot_delay: 1s}}
  decision_interval: 200ms
  store_sync_interval: 500ms
  leader_election: {{backend: kv, lease_duration: {cls.LEASE}s, renew_period: 1s}}
  github:
    api_url: {cls.fake_url}
    config_url: https://github.com/acme
    token_file: {token}
  pools:
    - {{name: linux, labels: [linux], min: 0, max: 10, scale_down_delay: 10m,
       demand: scale_set}}
"""
        pg = f"storage_postgres: {{url: \"{url}\", sslmode: disable}}\n"
        cls.a = Scaler(d, "scaler-a", runner_scaler, ["storage_postgres"], pg)
        cls.b = Scaler(d, "scaler-b", runner_scaler, ["storage_postgres"], pg)
        try:
            cls.a.start()
            cls.b.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in (cls.a, cls.b):
            s.stop()
        cls.fake.kill()
        cls.fake.wait()
        subprocess.run([PG_SCRIPT, "stop", cls.state], capture_output=True)
        cls.tmp.cleanup()

    @classmethod
    def control(cls, what, body=None):
        return fake_control(cls.fake_url, what, body)

    def sessions(self):
        return self.control("state")["sessions"]

    def test_only_the_leader_holds_the_session_and_a_successor_keeps_the_demand(self):
        leader = eventually(lambda: next((s for s in (self.a, self.b)
                                          if s.metric("appliance_scaler_leader") == 1), None),
                            timeout=20)
        self.assertIsNotNone(leader)
        follower = self.b if leader is self.a else self.a
        self.assertTrue(eventually(lambda: len(self.sessions()) == 1, timeout=15))
        time.sleep(1.5)
        sessions = self.sessions()
        self.assertEqual(len(sessions), 1, "one session, the leader's")
        sid, session = next(iter(sessions.items()))
        self.assertEqual(session["owner"], leader.name)
        self.control("statistics", {"scaleSetId": int(sid),
                                        "statistics": {"totalAssignedJobs": 4}})
        self.control("enqueue", {"scaleSetId": int(sid), "jobs": []})
        self.assertTrue(eventually(lambda: leader.pool()["supply"]["current"] == 4, timeout=10))
        self.assertEqual(follower.pool()["supply"]["current"], 0)

        killed = time.time()
        leader.kill9()
        self.assertTrue(eventually(lambda: follower.metric("appliance_scaler_leader") == 1,
                                   timeout=self.LEASE + 10))
        # It acts on the last statistics the old leader stored, before its own session opens.
        self.assertTrue(eventually(lambda: follower.pool()["supply"]["current"] == 4, timeout=5),
                        json.dumps(follower.pool()))
        acted = time.time() - killed
        self.assertTrue(eventually(lambda: (self.sessions().get(sid) or {}).get("owner") ==
                                   follower.name, timeout=30), follower.output())
        session_at = time.time() - killed
        print(f"\n  after kill -9: acting on stored demand at {acted:.1f} s, own session at "
              f"{session_at:.1f} s", file=sys.stderr)
        self.assertIn(409, [c[1] for c in self.control("state")["sessionCreates"]])
        self.control("statistics", {"scaleSetId": int(sid),
                                        "statistics": {"totalAssignedJobs": 6}})
        self.control("enqueue", {"scaleSetId": int(sid), "jobs": []})
        self.assertTrue(eventually(lambda: follower.pool()["supply"]["current"] == 6, timeout=10))
        self.assertIsNone(follower.proc.poll())


if __name__ == "__main__":
    BINARY, PG_SCRIPT, FAKE_ACTIONS, KUBE_FAKE = map(os.path.abspath, sys.argv[1:5])
    del sys.argv[1:5]
    unittest.main(verbosity=2)
