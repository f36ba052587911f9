#!/usr/bin/env python3
"""What the scaler's cross-replica demand sharing costs on a real PostgreSQL (issue #12).

  bench/scaler_ha/sync_cost.py build/bin/appliance [--jobs 1000]

Every replica re-reads all job records (`runner_scaler/job/*` in kv_store) every
store_sync_interval (1 s) so the leader sees webhooks that landed on a follower. This starts
a throwaway PostgreSQL 15 (scripts/pg-test-cluster.sh) and two scalers (kv leader election,
dry_run), sends N queued-job webhooks to the follower, and reports from the leader's
appliance_scaler_store_sync_seconds: the re-read time while the records arrive and in steady
state with N records, plus how long the leader took to see all N. Not a test; no asserts.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "plugins", "runner_scaler", "tests"))
import scaler_ha_e2e as e2e  # noqa: E402


def histogram(scaler):
    _, body = e2e.http("GET", f"http://{scaler.metrics_listen}/metrics")
    total = re.search(r"^appliance_scaler_store_sync_seconds_sum ([0-9.e+-]+)$", body, re.M)
    count = re.search(r"^appliance_scaler_store_sync_seconds_count ([0-9.e+-]+)$", body, re.M)
    return float(total.group(1)), float(count.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--jobs", type=int, default=1000)
    args = ap.parse_args()
    e2e.BINARY = args.binary
    pg_script = os.path.join(ROOT, "scripts", "pg-test-cluster.sh")
    with tempfile.TemporaryDirectory(prefix="scaler-sync-bench-") as d:
        os.chmod(d, 0o755)
        state = os.path.join(d, "pg.state")
        url = subprocess.run([pg_script, "start", state], check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
        yaml = f"""  backend: dry_run
  decision_interval: 1s
  leader_election: {{backend: kv, lease_duration: 15s, renew_period: 5s}}
  github: {{webhook_secret: "{e2e.SECRET}"}}
  dedupe_deliveries: 100000
  pools:
    - {{name: linux, labels: [linux, terraform, kubernetes], min: 0, max: 20}}
"""
        pg = f"storage_postgres: {{url: \"{url}\", sslmode: disable}}\n"
        a = e2e.Scaler(d, "scaler-a", yaml, ["storage_postgres"], pg)
        b = e2e.Scaler(d, "scaler-b", yaml, ["storage_postgres"], pg)
        try:
            a.start()
            e2e.eventually(lambda: a.metric("appliance_scaler_leader") == 1, timeout=20)
            b.start()
            time.sleep(2)
            s0, c0 = histogram(a)
            sent = time.time()
            for k in range(args.jobs):
                b.deliver(e2e.job_event("queued", 100000 + k), f"bench-{k}")
            e2e.eventually(lambda: a.pool()["demand"]["queued"] == args.jobs, timeout=120)
            seen = time.time() - sent
            s1, c1 = histogram(a)
            time.sleep(10)
            s2, c2 = histogram(a)
            print(f"jobs={args.jobs} webhooks to the follower; the leader saw all after "
                  f"{seen:.2f} s ({args.jobs / seen:.0f} webhooks/s end to end)")
            print(f"re-read while arriving: {c1 - c0:.0f} syncs, mean "
                  f"{1000 * (s1 - s0) / max(1, c1 - c0):.2f} ms")
            print(f"re-read in steady state with {args.jobs} records: {c2 - c1:.0f} syncs, "
                  f"mean {1000 * (s2 - s1) / max(1, c2 - c1):.2f} ms "
                  f"(every store_sync_interval = 1 s)")
        finally:
            a.stop()
            b.stop()
            subprocess.run([pg_script, "stop", state], capture_output=True)


if __name__ == "__main__":
    main()
