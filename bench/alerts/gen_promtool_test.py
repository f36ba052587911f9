#!/usr/bin/env python3
"""Writes a large promtool unit-test file and its rule file, with expectations that are right
by construction, for `promtool_compare.sh` (the same file through `promtool test rules` and
through our engine).

  gen_promtool_test.py OUT_DIR [--rules 400] [--jobs 100] [--instances 10] [--steps 3000]

Series: bench_requests_total{job="j<J>",instance="i<I>"} = '0+<I+1>x<steps>' (a counter that
grows by I+1 per 1m step), and bench_up{job,instance} = 1. Rules (groups of 50) rotate over
four shapes that all hold from the start, so each alert fires once `for` has passed:
  sum by (job) (rate(bench_requests_total{job="jJ"}[5m])) > 0        for 5m
  max by (job) (increase(bench_requests_total{job="jJ"}[10m])) > 5    for 10m
  count by (job) (bench_up{job="jJ"} == 1) >= 1                     for 2m
  avg by (job) (bench_requests_total{job=~"jJ"}) > 0                 for 1m
Test cases check every alert at several eval_times (firing with its labels) and sum() over
each job at the last step (exact, integers).
"""
import argparse
import os


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--rules", type=int, default=400)
    p.add_argument("--jobs", type=int, default=100)
    p.add_argument("--instances", type=int, default=10)
    p.add_argument("--steps", type=int, default=3000)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)

    shapes = [
        ('sum by (job) (rate(bench_requests_total{{job="{j}"}}[5m])) > 0', "5m"),
        ('max by (job) (increase(bench_requests_total{{job="{j}"}}[10m])) > 5', "10m"),
        ('count by (job) (bench_up{{job="{j}"}} == 1) >= 1', "2m"),
        ('avg by (job) (bench_requests_total{{job=~"{j}"}}) > 0', "1m"),
    ]
    rules = ["groups:"]
    alerts = []  # (name, job)
    for r in range(a.rules):
        if r % 50 == 0:
            rules.append(f"  - name: bench-{r // 50}")
            rules.append("    rules:")
        job = f"j{r % a.jobs}"
        expr, for_ = shapes[r % len(shapes)]
        name = f"BenchAlert{r}"
        alerts.append((name, job))
        rules.append(f"      - alert: {name}")
        rules.append(f"        expr: '{expr.format(j=job)}'")
        rules.append(f"        for: {for_}")
        rules.append("        labels:")
        rules.append("          severity: warning")
    with open(os.path.join(a.out, "bench_rules.yaml"), "w") as f:
        f.write("\n".join(rules) + "\n")

    last = a.steps - 1
    eval_times = sorted({30, a.steps // 2, last})
    t = ["rule_files:", "  - bench_rules.yaml", "evaluation_interval: 1m", "tests:",
         "  - interval: 1m", "    input_series:"]
    for j in range(a.jobs):
        for i in range(a.instances):
            labels = f'job="j{j}",instance="i{i}"'
            t.append(f"      - series: 'bench_requests_total{{{labels}}}'")
            t.append(f"        values: '0+{i + 1}x{a.steps}'")
            t.append(f"      - series: 'bench_up{{{labels}}}'")
            t.append(f"        values: '1x{a.steps}'")
    t.append("    alert_rule_test:")
    for minute in eval_times:
        for name, job in alerts:
            t.append(f"      - eval_time: {minute}m")
            t.append(f"        alertname: {name}")
            t.append("        exp_alerts:")
            t.append("          - exp_labels:")
            t.append("              severity: warning")
            t.append(f"              job: {job}")
    t.append("    promql_expr_test:")
    per_job = sum(i + 1 for i in range(a.instances)) * last
    for j in range(a.jobs):
        t.append(f"      - expr: sum(bench_requests_total{{job=\"j{j}\"}})")
        t.append(f"        eval_time: {last}m")
        t.append("        exp_samples:")
        t.append("          - labels: '{}'")
        t.append(f"            value: {per_job}")
    with open(os.path.join(a.out, "bench_test.yaml"), "w") as f:
        f.write("\n".join(t) + "\n")
    print(f"{a.rules} rules, {a.jobs * a.instances * 2} series, {a.steps} steps, "
          f"{len(eval_times) * len(alerts)} alert cases, {a.jobs} expression cases")


if __name__ == "__main__":
    main()
