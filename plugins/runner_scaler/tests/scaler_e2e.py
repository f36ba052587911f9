#!/usr/bin/env python3
"""End-to-end: the real appliance binary (role scaler) against the fake GitHub REST API.

  scaler_e2e.py <appliance-binary>

Signature checks (GitHub's example vector, a wrong secret, a truncated body), dedupe,
scale-up from a webhook burst, no scale-down before the delay, a lost completed webhook
repaired and a lost queued webhook found by polling, rate-limit backoff honoured. Everything
on 127.0.0.1; the process and the fake are stopped at the end.
"""
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_github  # noqa: E402

SECRET = "It's a Secret to Everybody"
PAT = "ghp_e2e_token_never_logged_0123456789"
LABELS = ["self-hosted", "linux", "terraform", "kubernetes"]
BINARY = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(check, timeout=15.0, every=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    return check()


def job_event(action, job_id, labels=LABELS, repo="acme/infra"):
    return json.dumps({
        "action": action,
        "workflow_job": {"id": job_id, "run_id": job_id // 10, "status": action,
                         "labels": labels, "runner_name": None,
                         "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "repository": {"full_name": repo},
    }).encode()


class ScalerE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="scaler-e2e-")
        cls.github, cls.fake = fake_github.serve(PAT)
        cls.api = f"http://127.0.0.1:{cls.github.server_address[1]}"
        cls.fake.page_size = 1  # every listing paginates
        token_file = os.path.join(cls.dir.name, "token")
        with open(token_file, "w") as f:
            f.write(PAT + "\n")
        cls.listen = f"127.0.0.1:{free_port()}"
        config = os.path.join(cls.dir.name, "scaler.yaml")
        with open(config, "w") as f:
            f.write(f"""http: {{listen: "{cls.listen}", access_log: false}}
data: {{dir: {cls.dir.name}/data}}
roles: {{scaler: [runner_scaler]}}
runner_scaler:
  backend: dry_run
  dry_run: {{boot_delay: 1s}}
  decision_interval: 200ms
  coalesce: 300ms
  github:
    api_url: {cls.api}
    token_file: {token_file}
    webhook_secret: "{SECRET}"
    repositories: [acme/infra]
    poll_interval: 5s
  pools:
    - {{name: linux, labels: [linux, terraform, kubernetes], min: 0, max: 20,
       scale_down_delay: 4s}}
    - {{name: gpu, labels: [linux, gpu], min: 0, max: 2}}
""")
        cls.log = open(os.path.join(cls.dir.name, "appliance.log"), "w+")
        cls.proc = subprocess.Popen([BINARY, f"--config={config}", "--role=scaler"],
                                    stdout=cls.log, stderr=subprocess.STDOUT)
        ok = eventually(lambda: cls.status("GET", "/readyz") == 200, timeout=20)
        if not ok:
            cls.tearDownClass()
            raise RuntimeError("the appliance did not become ready:\n" + cls.output())

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        try:
            cls.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
        cls.github.shutdown()
        cls.log.close()
        cls.dir.cleanup()

    @classmethod
    def output(cls):
        cls.log.flush()
        with open(cls.log.name) as f:
            return f.read()

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

    def deliver(self, body, delivery, event="workflow_job", secret=SECRET, signature=None):
        sig = signature or "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return self.request("POST", "/webhooks/github", body, {
            "X-Hub-Signature-256": sig, "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery, "Content-Type": "application/json"})

    def pool(self, name="linux"):
        status, body = self.request("GET", "/runners")
        self.assertEqual(status, 200, body)
        return next(p for p in json.loads(body)["pools"] if p["name"] == name)

    def set_runs(self, runs):
        # {run_id: (status, [(job_id, job_status), ...])}
        data = {"acme/infra": {str(rid): {"status": st, "jobs": [
            {"id": j, "run_id": rid, "status": js, "labels": LABELS} for j, js in jobs]}
            for rid, (st, jobs) in runs.items()}}
        with self.fake.lock:
            self.fake.runs = {repo: {int(k): v for k, v in r.items()} for repo, r in data.items()}

    def test_1_signatures(self):
        # GitHub's documented example: this secret and "Hello, World!" give this digest.
        sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        self.assertEqual(self.deliver(b"Hello, World!", "vec-1", "ping", signature=sig)[0], 200)
        body = job_event("queued", 1001, ["self-hosted", "gpu", "linux"])
        self.assertEqual(self.deliver(body, "wrong-1", secret="not it")[0], 401)
        self.assertEqual(self.deliver(body[:-3], "trunc-1",
                                      signature="sha256=" + hmac.new(SECRET.encode(), body,
                                                                     hashlib.sha256).hexdigest())[0], 401)
        self.assertEqual(self.request("POST", "/webhooks/github", body,
                                      {"X-GitHub-Event": "workflow_job"})[0], 401)
        time.sleep(0.6)
        self.assertEqual(self.pool("gpu")["demand"]["queued"], 0, "a refused delivery counted")

    def test_2_dedupe_and_other_events(self):
        body = job_event("queued", 2001, ["self-hosted", "gpu", "linux"])
        self.assertEqual(self.deliver(body, "dup-1")[0], 202)
        self.assertEqual(self.deliver(body, "dup-1")[0], 200)
        self.assertEqual(self.deliver(b'{"action":"opened"}', "pr-1", "pull_request")[0], 202)
        self.assertTrue(eventually(lambda: self.pool("gpu")["demand"]["queued"] == 1))
        self.deliver(job_event("completed", 2001, ["self-hosted", "gpu", "linux"]), "dup-2")
        self.assertTrue(eventually(lambda: self.pool("gpu")["demand"]["queued"] == 0))

    def test_3_burst_scales_up_at_once_and_waits_before_scaling_down(self):
        ids = range(3001, 3007)
        for k in ids:
            self.assertEqual(self.deliver(job_event("queued", k), f"burst-{k}")[0], 202)
        self.assertTrue(eventually(lambda: self.pool()["supply"]["current"] == 6), self.pool())
        ups = [d for d in self.pool()["decisions"] if d["action"] == "scale_up"]
        self.assertLess(len(ups), 6, "one decision per event instead of per burst")
        self.assertTrue(eventually(lambda: self.pool()["supply"]["idle"] == 6))  # booted
        for k in ids:
            self.deliver(job_event("in_progress", k), f"start-{k}")
        self.assertTrue(eventually(lambda: self.pool()["supply"]["busy"] == 6))
        for k in ids:
            self.deliver(job_event("completed", k), f"done-{k}")
        self.assertTrue(eventually(lambda: self.pool()["supply"]["idle"] == 6))
        done = time.time()
        # Idle, but within scale_down_delay (4 s): all six stay.
        while time.time() < done + 2.5:
            self.assertEqual(self.pool()["supply"]["current"], 6)
            time.sleep(0.2)
        self.assertTrue(eventually(lambda: self.pool()["supply"]["current"] == 0))
        downs = [d for d in self.pool()["decisions"] if d["action"] == "scale_down"]
        self.assertTrue(downs and "reason=idle" in downs[0]["message"], downs)

    def test_4_polling_finds_lost_queued_and_repairs_lost_completed(self):
        # 4001 and 4003 were queued but their webhooks never came (one job per page, so the
        # listing paginates); 4002 runs and its completion webhook will be lost.
        self.deliver(job_event("queued", 4002), "q-4002")
        self.deliver(job_event("in_progress", 4002), "s-4002")
        self.set_runs({400: ("queued", [(4001, "queued"), (4003, "queued")]),
                       401: ("in_progress", [(4002, "in_progress")])})
        self.assertTrue(eventually(lambda: self.pool()["demand"]["queued"] == 2, timeout=15))
        self.assertEqual(self.pool()["demand"]["in_progress"], 1)  # not counted twice
        self.set_runs({})
        self.assertTrue(eventually(lambda: self.pool()["demand"] == {"queued": 0, "in_progress": 0},
                                   timeout=15), self.pool()["demand"])
        requests = self.fake.requests
        self.assertTrue(all(r["accept"] == "application/vnd.github+json" and
                            r["version"] == "2022-11-28" for r in requests))
        self.assertTrue(any("page=2" in r["query"] for r in requests), "no pagination")
        self.assertTrue(any(r["if_none_match"] for r in requests), "no conditional requests")

    def test_5_rate_limit_is_honoured(self):
        with self.fake.lock:
            self.fake.exhausted_until = time.time() + 3600
            before = len(self.fake.requests)
        self.assertTrue(eventually(lambda: len(self.fake.requests) > before, timeout=10))
        time.sleep(0.5)
        refused = len(self.fake.requests)
        time.sleep(11)  # two poll intervals
        self.assertEqual(len(self.fake.requests), refused, "requested before x-ratelimit-reset")
        self.assertIn("rate limit", self.output())

    def test_6_no_secret_in_the_log(self):
        out = self.output()
        self.assertNotIn(PAT, out)
        self.assertNotIn(SECRET, out)


class ShippedConfigE2E(unittest.TestCase):
    """config/dev.yaml and config/prod.yaml carry the seed's pools and pass --check-config
    for role scaler once the webhook secret is mounted; without it start-up stops with one
    line naming the file, never the secret."""

    def test_dev_and_prod_scaler_configs(self):
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
        with tempfile.TemporaryDirectory() as d:
            secret = os.path.join(d, "webhook-secret")
            with open(secret, "w") as f:
                f.write("dev-secret-value-never-printed\n")
            # The scaler role loads storage_postgres for its kv_store (checked, not dialled).
            password = os.path.join(d, "db-password")
            with open(password, "w") as f:
                f.write("db-password-never-printed\n")
            database = {"DATABASE_URL": "postgresql://tasks@db.example.internal:5432/tasks",
                        "APPLIANCE_DB_PASSWORD_FILE": password}
            for env, pool in (("dev", "min: 1\n      max: 3"), ("prod", "min: 2\n      max: 10")):
                ok = subprocess.run([BINARY, f"--env={env}", "--role=scaler", "--check-config"],
                                    cwd=root, capture_output=True, text=True,
                                    env={"PATH": os.environ["PATH"], "APPLIANCE_DATA_DIR": d,
                                         "APPLIANCE_GITHUB_WEBHOOK_SECRET_FILE": secret,
                                         **database})
                self.assertEqual(ok.returncode, 0, ok.stderr)
                self.assertIn(pool, ok.stdout)
                self.assertIn("labels:\n        - linux\n        - terraform\n        - kubernetes",
                              ok.stdout)
                self.assertIn("work_volume_size: 20Gi", ok.stdout)
                self.assertNotIn("dev-secret-value", ok.stdout + ok.stderr)
                self.assertNotIn("db-password-never", ok.stdout + ok.stderr)
                bad = subprocess.run([BINARY, f"--env={env}", "--role=scaler", "--check-config"],
                                     cwd=root, capture_output=True, text=True,
                                     env={"PATH": os.environ["PATH"], "APPLIANCE_DATA_DIR": d,
                                          "APPLIANCE_GITHUB_WEBHOOK_SECRET_FILE": d + "/missing",
                                          **database})
                self.assertEqual(bad.returncode, 2)
                self.assertIn("webhook_secret_file: cannot read", bad.stderr)


class GitHubAppE2E(unittest.TestCase):
    """GitHub App auth through the real binary: RS256 JWT -> installation token, refreshed
    five minutes before expires_at (the fake hands out tokens valid for 5 min + 3 s)."""

    def test_app_tokens_are_minted_and_refreshed_before_expiry(self):
        d = tempfile.TemporaryDirectory(prefix="scaler-app-e2e-")
        key = os.path.join(d.name, "app.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", key], check=True, capture_output=True)
        github, fake = fake_github.serve(None, app_id=4242)
        fake.token_ttl = 303
        fake.runs = {"acme/infra": {700: {"status": "queued", "jobs": [
            {"id": 7001, "run_id": 700, "status": "queued", "labels": LABELS}]}}}
        listen = f"127.0.0.1:{free_port()}"
        cfg = os.path.join(d.name, "app.yaml")
        with open(cfg, "w") as f:
            f.write(f"""http: {{listen: "{listen}", access_log: false}}
data: {{dir: {d.name}/data}}
roles: {{scaler: [runner_scaler]}}
runner_scaler:
  github:
    api_url: http://127.0.0.1:{github.server_address[1]}
    app: {{id: "4242", installation_id: "99", private_key_file: {key}}}
    webhook_secret: "{SECRET}"
    repositories: [acme/infra]
    poll_interval: 5s
  pools: [{{name: linux, labels: [linux, terraform, kubernetes], max: 5}}]
""")
        log = open(os.path.join(d.name, "app.log"), "w+")
        proc = subprocess.Popen([BINARY, f"--config={cfg}", "--role=scaler"], stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            def queued():
                try:
                    with urllib.request.urlopen(f"http://{listen}/runners", timeout=5) as r:
                        return json.loads(r.read())["pools"][0]["demand"]["queued"] == 1
                except OSError:
                    return False
            self.assertTrue(eventually(queued, timeout=20), "the App-authenticated poll found nothing")
            exchanges = lambda: [r for r in fake.requests if r["path"] == "/app/installations/99/access_tokens"]
            self.assertTrue(eventually(lambda: len(exchanges()) >= 2, timeout=15),
                            "the installation token was not refreshed before expiry")
            listings = [r for r in fake.requests if r["path"].startswith("/repos/")]
            self.assertTrue(listings)
            log.flush()
            out = open(log.name).read()
            self.assertNotIn("ghs_", out)
            self.assertNotIn("PRIVATE KEY", out)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
            github.shutdown()
            log.close()
            d.cleanup()


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
