#!/usr/bin/env python3
"""End-to-end: the real appliance binary (role scaler) against the fake GitHub REST API.

  scaler_e2e.py <appliance-binary>

Signature checks (GitHub's example vector, a wrong secret, a truncated body), dedupe,
scale-up from a webhook burst, no scale-down before the delay, a lost completed webhook
repaired and a lost queued webhook found by polling, rate-limit backoff honoured; with the
wall clock set by APPLIANCE_TEST_CLOCK_FILE: schedules switching limits at their boundary,
budget exhaustion (and its day in budget_time_zone), busy runners never removed; label
matching, the most specific pool and unmatched jobs. Everything
on 127.0.0.1; the process and the fake are stopped at the end.
"""
import calendar
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
import fake_github  # noqa: E402
from e2e_support import eventually, free_port, log_text, stop_process  # noqa: E402

SECRET = "It's a Secret to Everybody"
PAT = "ghp_e2e_token_never_logged_0123456789"
LABELS = ["self-hosted", "linux", "terraform", "kubernetes"]
BINARY = None


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
        stop_process(cls.proc, 20)
        cls.github.shutdown()
        cls.log.close()
        cls.dir.cleanup()

    @classmethod
    def output(cls):
        return log_text(cls.log)

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


def epoch(y, mo, d, h, mi=0, sec=0):
    return calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0))


class ClockedAppliance:
    """The binary (role scaler: runner_scaler + metrics_exporter, dry run, webhooks only)
    with its wall clock read from APPLIANCE_TEST_CLOCK_FILE, which set_clock() rewrites."""

    def __init__(self, pools_yaml, start):
        self.dir = tempfile.TemporaryDirectory(prefix="scaler-clock-e2e-")
        self.clock = os.path.join(self.dir.name, "now")
        self.set_clock(start)
        self.listen = f"127.0.0.1:{free_port()}"
        self.metrics_listen = f"127.0.0.1:{free_port()}"
        config = os.path.join(self.dir.name, "scaler.yaml")
        with open(config, "w") as f:
            f.write(f"""http: {{listen: "{self.listen}", access_log: false}}
data: {{dir: {self.dir.name}/data}}
roles: {{scaler: [runner_scaler, metrics_exporter]}}
metrics_exporter: {{listen: "{self.metrics_listen}"}}
runner_scaler:
  backend: dry_run
  dry_run: {{boot_delay: 1s}}
  decision_interval: 100ms
  coalesce: 100ms
  github: {{webhook_secret: "{SECRET}"}}
  pools:
{pools_yaml}""")
        self.log = open(os.path.join(self.dir.name, "appliance.log"), "w+")
        self.proc = subprocess.Popen([BINARY, f"--config={config}", "--role=scaler"],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "APPLIANCE_TEST_CLOCK_FILE": self.clock})
        if not eventually(lambda: self.request("GET", "/readyz")[0] == 200, timeout=20):
            self.stop()
            raise RuntimeError("the appliance did not become ready:\n" + self.output())

    def set_clock(self, t):
        tmp = self.clock + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{t}\n")
        os.replace(tmp, self.clock)  # atomically: the host never reads half a number

    def stop(self):
        stop_process(self.proc, 20)
        self.log.close()
        self.dir.cleanup()

    def output(self):
        return log_text(self.log)

    def request(self, method, path, body=b"", headers=None, listen=None):
        rq = urllib.request.Request(f"http://{listen or self.listen}{path}", data=body or None,
                                    method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(rq, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def deliver(self, action, job_id, labels):
        body = job_event(action, job_id, labels)
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return self.request("POST", "/webhooks/github", body, {
            "X-Hub-Signature-256": sig, "X-GitHub-Event": "workflow_job",
            "X-GitHub-Delivery": f"{action}-{job_id}", "Content-Type": "application/json"})[0]

    def runners(self):
        status, body = self.request("GET", "/runners")
        assert status == 200, body
        return json.loads(body)

    def pool(self, name):
        return next(p for p in self.runners()["pools"] if p["name"] == name)

    def metric(self, name, **labels):
        status, body = self.request("GET", "/metrics", listen=self.metrics_listen)
        assert status == 200, body
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in body.splitlines():
            m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
            if m and m.group(1) == name and ",".join(sorted((m.group(2) or "").split(","))) == want:
                return float(m.group(3))
        return None


class ClockedScalerE2E(unittest.TestCase):
    """What the policy does at a time of day, through the real binary: the wall clock comes
    from APPLIANCE_TEST_CLOCK_FILE (a host hook for tests), so a test sets the time and jumps.
    Also label matching (most specific pool, unmatched jobs) and busy runners in dry run."""

    def start(self, pools_yaml, t):
        app = ClockedAppliance(pools_yaml, t)
        self.addCleanup(app.stop)
        return app

    def test_the_host_says_the_clock_comes_from_a_file_and_refuses_a_bad_one(self):
        app = self.start("    - {name: linux, labels: [linux], max: 1}\n", epoch(2026, 12, 2, 12))
        self.assertIn("the wall clock is read from a file (testing only", app.output())
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "now")
            with open(bad, "w") as f:
                f.write("noon\n")
            cfg = os.path.join(app.dir.name, "scaler.yaml")
            run = subprocess.run([BINARY, f"--config={cfg}", "--role=scaler"], capture_output=True,
                                 text=True, timeout=20,
                                 env={**os.environ, "APPLIANCE_TEST_CLOCK_FILE": bad})
            self.assertEqual(run.returncode, 2, run.stderr)
            self.assertEqual(run.stderr.strip().splitlines(), [
                f"appliance: APPLIANCE_TEST_CLOCK_FILE {bad}: not epoch seconds between 1970 and "
                "2200 (write e.g. 1764748800 or 1764748800.5)"])

    def test_schedule_switches_limits_at_its_boundary_in_its_time_zone(self):
        # 09:00-10:00 in Berlin on weekdays is 08:00-09:00 UTC in December (CET, UTC+1).
        app = self.start("""    - name: office
      labels: [linux, office]
      max: 5
      scale_down_delay: 4s
      schedules:
        - {name: berlin-morning, days: mon-fri, start: "09:00", end: "10:00",
           time_zone: Europe/Berlin, min: 2}
""", epoch(2026, 12, 2, 7, 59, 55))  # a Wednesday, 5 s before the window
        before = app.pool("office")
        self.assertIsNone(before["schedule"])
        self.assertEqual(before["limits"]["min"], 0)
        self.assertEqual(before["supply"]["current"], 0)
        # The clock runs on by itself: the window opens at 08:00:00 UTC, not before.
        self.assertTrue(eventually(lambda: app.pool("office")["supply"]["current"] == 2,
                                   timeout=10), app.pool("office"))
        pool = app.pool("office")
        self.assertEqual(pool["schedule"], "berlin-morning")
        self.assertEqual(pool["limits"]["min"], 2)
        up = [d for d in pool["decisions"] if d["action"] == "scale_up"]
        self.assertEqual(len(up), 1, pool["decisions"])
        self.assertIn("reason=min", up[0]["message"])
        self.assertIn("schedule=berlin-morning", up[0]["message"])
        self.assertGreaterEqual(up[0]["at"], "2026-12-02T08:00:00")
        self.assertLess(up[0]["at"], "2026-12-02T08:00:03")  # a decision_interval, and slack
        # Just before the end the window still holds both runners (idle for almost an hour).
        app.set_clock(epoch(2026, 12, 2, 8, 59, 58))
        self.assertTrue(eventually(lambda: app.pool("office")["supply"]["idle"] == 2))
        self.assertEqual(app.pool("office")["schedule"], "berlin-morning")
        # At 09:00:00 UTC the window closes: min 0, and the runners, idle far longer than
        # scale_down_delay, go.
        self.assertTrue(eventually(lambda: app.pool("office")["supply"]["current"] == 0,
                                   timeout=10), app.pool("office"))
        pool = app.pool("office")
        self.assertIsNone(pool["schedule"])
        self.assertEqual(pool["limits"]["min"], 0)
        down = [d for d in pool["decisions"] if d["action"] == "scale_down"]
        self.assertEqual(len(down), 1, pool["decisions"])
        self.assertIn("reason=idle", down[0]["message"])
        self.assertGreaterEqual(down[0]["at"], "2026-12-02T09:00:00")
        self.assertEqual(app.metric("appliance_runners_desired", pool="office"), 0)

    def test_busy_runners_are_never_removed_in_dry_run(self):
        app = self.start("""    - name: squeezed
      labels: [linux, squeezed]
      max: 3
      scale_down_delay: 2s
      schedules: [{name: squeeze, days: "*", start: "12:00", end: "13:00", max: 1}]
""", epoch(2026, 12, 2, 11))
        labels = ["self-hosted", "linux", "squeezed"]
        for k in (1, 2, 3):
            self.assertEqual(app.deliver("queued", 500 + k, labels), 202)
        self.assertTrue(eventually(lambda: app.pool("squeezed")["supply"]["idle"] == 3))
        for k in (1, 2, 3):
            app.deliver("in_progress", 500 + k, labels)
        self.assertTrue(eventually(lambda: app.pool("squeezed")["supply"]["busy"] == 3))
        # A schedule lowers max to 1 while three jobs run; an hour later all three still run.
        app.set_clock(epoch(2026, 12, 2, 12))
        self.assertTrue(eventually(lambda: app.pool("squeezed")["limits"]["max"] == 1))
        app.set_clock(epoch(2026, 12, 2, 12, 59))
        deadline = time.time() + 2
        while time.time() < deadline:
            supply = app.pool("squeezed")["supply"]
            self.assertEqual((supply["current"], supply["busy"]), (3, 3), supply)
            time.sleep(0.1)
        holds = [d for d in app.pool("squeezed")["decisions"] if d["action"] == "hold"]
        self.assertTrue(holds and holds[0]["reason"] == "busy", holds)  # newest first
        # Two jobs end: their runners go after scale_down_delay; the busy one stays.
        for k in (1, 2):
            app.deliver("completed", 500 + k, labels)
        self.assertTrue(eventually(lambda: app.pool("squeezed")["supply"]["current"] == 1,
                                   timeout=10), app.pool("squeezed"))
        self.assertEqual(app.pool("squeezed")["supply"]["busy"], 1)
        self.assertNotIn("not removed", app.output())  # nothing busy was even attempted

    def test_budget_exhaustion_stops_growth_with_metric_and_log_until_its_midnight(self):
        # Tokyo (UTC+9, no DST): its day starts at 15:00 UTC.
        app = self.start("""    - name: metered
      labels: [linux, metered]
      max: 5
      budget: 2
      budget_time_zone: Asia/Tokyo
""", epoch(2026, 12, 2, 14))
        labels = ["self-hosted", "linux", "metered"]
        for k in (1, 2):
            app.deliver("queued", 600 + k, labels)
        self.assertTrue(eventually(lambda: app.pool("metered")["supply"]["current"] == 2))
        self.assertEqual(app.metric("appliance_runner_budget_exhausted", pool="metered"), 0)
        # Two runners for one minute: the 2 runner-minutes of the day are spent.
        app.set_clock(epoch(2026, 12, 2, 14, 1))
        self.assertTrue(eventually(lambda: app.pool("metered")["budget"]["exhausted"]))
        app.deliver("queued", 603, labels)
        self.assertTrue(eventually(lambda: app.pool("metered")["demand"]["queued"] == 3))
        deadline = time.time() + 1.5
        while time.time() < deadline:
            self.assertEqual(app.pool("metered")["supply"]["current"], 2)
            time.sleep(0.1)
        self.assertEqual(app.metric("appliance_runner_budget_exhausted", pool="metered"), 1)
        self.assertEqual(app.metric("appliance_scale_events_total", pool="metered",
                                    direction="hold", reason="budget_exhausted"), 1)
        why = [line for line in app.output().splitlines() if "budget_exhausted" in line]
        self.assertEqual(len(why), 1, why)  # once per episode
        self.assertIn('"level":"warn"', why[0])
        self.assertIn("hold demand=3 current=2 desired=3 pool=metered reason=budget_exhausted",
                      why[0])
        self.assertIn("daily budget of 2 runner-minutes spent; no new runners until 00:00 "
                      "Asia/Tokyo", why[0])
        # Just before Tokyo's midnight, then across it: the new day's budget grows the pool.
        app.set_clock(epoch(2026, 12, 2, 14, 59, 59))
        self.assertTrue(eventually(lambda: app.pool("metered")["supply"]["current"] == 3,
                                   timeout=10), app.pool("metered"))
        self.assertEqual(app.metric("appliance_runner_budget_exhausted", pool="metered"), 0)
        up = [d for d in app.pool("metered")["decisions"] if d["action"] == "scale_up"]
        self.assertGreaterEqual(up[0]["at"], "2026-12-02T15:00:00")  # newest first

    def test_labels_pick_the_most_specific_pool_and_unmatched_jobs_are_counted(self):
        app = self.start("""    - {name: linux-any, labels: [linux], max: 5}
    - {name: terraform, labels: [linux, terraform, kubernetes], max: 5}
    - {name: tie-b, labels: [linux, shared, b], max: 5}
    - {name: tie-a, labels: [linux, shared, a], max: 5}
""", epoch(2026, 12, 2, 12))
        jobs = {701: ["self-hosted", "Linux"],                     # all four match: 0 extra
                702: ["self-hosted", "linux", "terraform"],        # terraform only
                703: ["linux", "SHARED"],                          # tie-a and tie-b: by name
                704: ["self-hosted", "linux", "gpu"],              # none
                705: ["linux", "gpu"],                             # none, same labels
                706: ["windows"]}                                  # none
        for job, labels in jobs.items():
            self.assertEqual(app.deliver("queued", job, labels), 202)
        self.assertTrue(eventually(lambda: app.runners()["unmatched_jobs"] == 3), app.runners())
        queued = {p["name"]: p["demand"]["queued"] for p in app.runners()["pools"]}
        self.assertEqual(queued, {"linux-any": 1, "terraform": 1, "tie-a": 1, "tie-b": 0})
        self.assertEqual(app.metric("appliance_jobs_unmatched"), 3)
        logged = [line for line in app.output().splitlines() if "matches no runner pool" in line]
        self.assertEqual(len(logged), 2, logged)  # once per label set
        self.assertTrue(any("gpu" in line for line in logged), logged)
        self.assertTrue(any("windows" in line for line in logged), logged)
        app.deliver("completed", 706, ["windows"])
        self.assertTrue(eventually(lambda: app.runners()["unmatched_jobs"] == 2))


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
