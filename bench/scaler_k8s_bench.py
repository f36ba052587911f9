#!/usr/bin/env python3
"""Benchmark of the runner scaler's Kubernetes backend (issue #12), not a test: nothing is
asserted. The real binary (role scaler, backend kubernetes) against the fake Kubernetes API
server (HTTPS) and the fake GitHub, all on 127.0.0.1.

  bench/scaler_k8s_bench.py <appliance-binary> [--jobs 1000] [--burst 100]

1. Scale from 0 to <burst> runners: <burst> queued webhooks at once; wall time until the API
   server holds <burst> runner pods, and the API calls made (Kubernetes and GitHub).
2. RSS of the scaler process with those pods watched (VmRSS, VmHWM from /proc).
3. Webhook -> pod create: <jobs> queued jobs one after another; for each, the time from
   sending the webhook to the watch seeing the new pod (ADDED), p50/p90/p99/max.
"""
import argparse
import hashlib
import hmac
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "plugins", "runner_scaler", "tests")
sys.path.insert(0, TESTS)
import fake_github  # noqa: E402
import scaler_k8s_e2e as e2e  # noqa: E402

NS = "ci"
SECRET = "bench-secret"
PAT = "ghp_bench"
TOKEN = "kube-bench-token"


def rss_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


class Bench:
    def __init__(self, binary, max_runners):
        self.dir = tempfile.TemporaryDirectory(prefix="scaler-k8s-bench-")
        d = self.dir.name
        e2e.make_certs(d)
        token = os.path.join(d, "token")
        e2e.write_atomic(token, TOKEN)
        port_file = os.path.join(d, "port")
        self.kube = subprocess.Popen(
            [sys.executable, e2e.FAKE_KUBE, "--cert", f"{d}/server.pem", "--key",
             f"{d}/server.key", "--ca", f"{d}/ca.pem", "--token-file", token,
             "--port-file", port_file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        e2e.eventually(lambda: os.path.exists(port_file) and e2e.read(port_file).strip(), 10)
        self.kube_url = "https://127.0.0.1:" + e2e.read(port_file).strip()
        self.tls = ssl.create_default_context(cafile=f"{d}/ca.pem")
        self.github, self.fake = fake_github.serve(PAT)
        pat = os.path.join(d, "pat")
        e2e.write_atomic(pat, PAT)
        kubeconfig = os.path.join(d, "kubeconfig")
        e2e.write_atomic(kubeconfig, f"""apiVersion: v1
kind: Config
current-context: b
clusters: [{{name: f, cluster: {{server: "{self.kube_url}", certificate-authority: {d}/ca.pem}}}}]
users: [{{name: u, user: {{tokenFile: {token}}}}}]
contexts: [{{name: b, context: {{cluster: f, user: u, namespace: {NS}}}}}]
""")
        self.listen = f"127.0.0.1:{e2e.free_port()}"
        config = os.path.join(d, "scaler.yaml")
        e2e.write_atomic(config, f"""http: {{listen: "{self.listen}", access_log: false}}
data: {{dir: {d}/data}}
roles: {{scaler: [runner_scaler]}}
log: {{level: warn}}
runner_scaler:
  backend: kubernetes
  decision_interval: 100ms
  coalesce: 20ms
  github: {{api_url: "http://127.0.0.1:{self.github.server_address[1]}", token_file: {pat},
           webhook_secret: "{SECRET}"}}
  kubernetes: {{kubeconfig: {kubeconfig}, runner_scope: acme/infra, events: false}}
  pools:
    - {{name: linux, labels: [linux], min: 0, max: {max_runners}, scale_down_delay: 1h}}
""")
        self.log = open(os.path.join(d, "appliance.log"), "w")
        self.proc = subprocess.Popen([binary, f"--config={config}", "--role=scaler"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        ok = e2e.eventually(lambda: self.http("GET", "/readyz")[0] == 200, 20)
        if not ok:
            raise RuntimeError("appliance did not start")
        self.added = []  # (time, pod name) as the watch sees them
        self.lock = threading.Lock()
        threading.Thread(target=self.watch, daemon=True).start()
        time.sleep(0.3)

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.kube.terminate()
        self.kube.wait(timeout=10)
        self.github.shutdown()
        self.log.close()
        self.dir.cleanup()

    def http(self, method, path, body=None, headers=None):
        rq = urllib.request.Request(f"http://{self.listen}{path}", data=body, method=method,
                                    headers=headers or {})
        try:
            with urllib.request.urlopen(rq, timeout=10) as r:
                return r.status, r.read()
        except Exception as e:  # noqa: BLE001
            return getattr(e, "code", 0), b""

    def kube_api(self, method, path):
        rq = urllib.request.Request(self.kube_url + path, method=method,
                                    headers={"Authorization": "Bearer " + TOKEN})
        with urllib.request.urlopen(rq, context=self.tls, timeout=30) as r:
            return json.loads(r.read() or b"{}")

    def watch(self):
        rq = urllib.request.Request(
            self.kube_url + f"/api/v1/namespaces/{NS}/pods?watch=1&timeoutSeconds=3600",
            headers={"Authorization": "Bearer " + TOKEN})
        with urllib.request.urlopen(rq, context=self.tls, timeout=3600) as r:
            for line in r:
                ev = json.loads(line)
                if ev.get("type") == "ADDED":
                    with self.lock:
                        self.added.append((time.perf_counter(), ev["object"]["metadata"]["name"]))

    def count(self):
        with self.lock:
            return len(self.added)

    def deliver(self, job_id):
        body = e2e.job_event("queued", job_id)
        body = body.replace(b'"self-hosted", "linux", "terraform", "kubernetes"',
                            b'"self-hosted", "linux"')
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return self.http("POST", "/webhooks/github", body, {
            "X-Hub-Signature-256": sig, "X-GitHub-Event": "workflow_job",
            "X-GitHub-Delivery": f"b-{job_id}", "Content-Type": "application/json"})[0]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--burst", type=int, default=100)
    args = ap.parse_args()
    b = Bench(args.binary, args.jobs + args.burst + 10)
    try:
        rss0 = rss_kib(b.proc.pid)
        b.kube_api("DELETE", "/_fake/requests")
        with b.fake.lock:
            b.fake.requests.clear()
        t0 = time.perf_counter()
        for j in range(args.burst):
            b.deliver(100000 + j)
        e2e.eventually(lambda: b.count() >= args.burst, 120, 0.005)
        wall = time.perf_counter() - t0
        kube_requests = b.kube_api("GET", "/_fake/requests")
        kube_requests = kube_requests if isinstance(kube_requests, list) else \
            kube_requests.get("requests", [])
        by_kind = {}
        for r in kube_requests:
            parts = r["path"].split("/")
            kind = r["method"] + " " + (parts[5] if len(parts) > 5 else r["path"])
            by_kind[kind] = by_kind.get(kind, 0) + 1
        with b.fake.lock:
            gh = {}
            for r in b.fake.requests:
                key = r["method"] + " " + r["path"].rsplit("/", 1)[-1]
                gh[key] = gh.get(key, 0) + 1
        time.sleep(2)
        rss = rss_kib(b.proc.pid)
        print(f"## 0 -> {args.burst} runners")
        print(f"- pods seen by a watch: {b.count()} after {wall * 1000:.0f} ms (webhooks sent "
              f"back to back)")
        print(f"- Kubernetes API requests: {len(kube_requests)} "
              + json.dumps(dict(sorted(by_kind.items()))))
        print(f"- GitHub requests: {sum(gh.values())} " + json.dumps(dict(sorted(gh.items()))))
        print(f"- scaler RSS: {rss0.get('VmRSS')} KiB at start, {rss.get('VmRSS')} KiB with "
              f"{args.burst} pods watched (peak {rss.get('VmHWM')} KiB)")

        latencies = []
        for j in range(args.jobs):
            before = b.count()
            t = time.perf_counter()
            if b.deliver(200000 + j) != 202:
                print("webhook refused", file=sys.stderr)
                continue
            if not e2e.eventually(lambda: b.count() > before, 10, 0.0005):
                print(f"job {j}: no pod within 10 s", file=sys.stderr)
                continue
            with b.lock:
                latencies.append((b.added[before][0] - t) * 1000)
        rss = rss_kib(b.proc.pid)
        print(f"\n## webhook -> pod created (seen by a watch), {len(latencies)} jobs, one at a time")
        print(f"- p50 {pct(latencies, 50):.1f} ms, p90 {pct(latencies, 90):.1f} ms, "
              f"p99 {pct(latencies, 99):.1f} ms, max {max(latencies):.1f} ms, "
              f"mean {statistics.mean(latencies):.1f} ms")
        print(f"- scaler RSS afterwards with {b.count()} pods watched: {rss.get('VmRSS')} KiB "
              f"(peak {rss.get('VmHWM')} KiB)")
    finally:
        b.close()


if __name__ == "__main__":
    main()
