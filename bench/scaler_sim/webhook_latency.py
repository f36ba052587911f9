#!/usr/bin/env python3
"""Webhook-to-decision latency and RSS of the real scaler role.

  bench/scaler_sim/webhook_latency.py [--binary build/bin/appliance] [--count 10000]
                                      [--coalesce 200ms] [--connections 4]

Starts the appliance (role scaler, dry run, no GitHub polling) on 127.0.0.1, sends --count
signed workflow_job webhooks (queued then completed, so the pool scales up and down) over
keep-alive connections, and prints the scaler's own receipt-to-decision latency (p50/p99
from GET /runners' webhook_to_decision_ms: from the handler queueing the delivery to the
decision thread having decided every pool with it) and the process's VmRSS/VmHWM. With the
default coalesce (200 ms) the latency includes that deliberate wait for the rest of a burst;
--coalesce 0 shows the machinery alone.
"""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

SECRET = "bench-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) / 1024
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "../../build/bin/appliance"))
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--coalesce", default="200ms")
    ap.add_argument("--connections", type=int, default=4)
    a = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "bench.yaml")
        with open(cfg, "w") as f:
            f.write(f"""http: {{listen: "127.0.0.1:{port}", access_log: false}}
log: {{level: warn}}
data: {{dir: {d}}}
roles: {{scaler: [runner_scaler]}}
runner_scaler:
  dry_run: {{boot_delay: 1s}}
  coalesce: {a.coalesce}
  github: {{webhook_secret: {SECRET}}}
  pools: [{{name: linux, labels: [linux], min: 0, max: 50, scale_down_delay: 5s}}]
""")
        proc = subprocess.Popen([a.binary, f"--config={cfg}", "--role=scaler"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/readyz")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            idle = rss(proc.pid)
            per = a.count // a.connections

            def sender(n):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                for k in range(per):
                    job = n * per + k
                    action = "queued" if k % 2 == 0 else "completed"
                    jid = n * per + (k // 2) * 2 + 1
                    body = json.dumps({"action": action, "workflow_job": {
                        "id": jid, "run_id": jid, "status": action, "labels": ["self-hosted", "linux"],
                        "runner_name": None}, "repository": {"full_name": "bench/app"}}).encode()
                    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                    c.request("POST", "/webhooks/github", body, {
                        "X-Hub-Signature-256": sig, "X-GitHub-Event": "workflow_job",
                        "X-GitHub-Delivery": f"bench-{job}", "Content-Type": "application/json"})
                    r = c.getresponse()
                    r.read()
                    if r.status != 202:
                        print(f"unexpected {r.status}", file=sys.stderr)
            start = time.time()
            threads = [threading.Thread(target=sender, args=(n,)) for n in range(a.connections)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.time() - start
            time.sleep(1.5)
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/runners")
            lat = json.loads(c.getresponse().read())["webhook_to_decision_ms"]
            mem = rss(proc.pid)
            print(f"webhooks: {per * a.connections} over {a.connections} connections in {elapsed:.1f} s "
                  f"({per * a.connections / elapsed:.0f}/s), coalesce {a.coalesce}")
            print(f"webhook-to-decision: p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms "
                  f"({lat['samples']} samples)")
            print(f"RSS: idle {idle['VmRSS']:.1f} MiB, after {mem['VmRSS']:.1f} MiB, peak {mem['VmHWM']:.1f} MiB")
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
