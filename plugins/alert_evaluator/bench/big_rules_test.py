#!/usr/bin/env python3
"""Generates a large promtool unit-test file for the side-by-side benchmark of issue #10:
`appliance --test-rules` against `promtool test rules` on the same file.

  big_rules_test.py OUTDIR [--rules 300] [--series 300] [--steps 3000]

Writes OUTDIR/big_rules.yaml (alerting rules over counters: rate, sum by, avg_over_time,
histogram-free arithmetic) and OUTDIR/big_test.yaml (one test group: every series in the
expanding notation over --steps one-minute steps, an alert_rule_test per rule at the last
step, and a few promql_expr_test cases). Both tools evaluate every rule at every step, so the
work is rules x steps x series-per-rule. The expectations are exact (counters growing by a
constant per minute), so both tools must pass."""
import argparse
import os

p = argparse.ArgumentParser()
p.add_argument("outdir")
p.add_argument("--rules", type=int, default=300)
p.add_argument("--series", type=int, default=300)
p.add_argument("--steps", type=int, default=3000)
a = p.parse_args()
os.makedirs(a.outdir, exist_ok=True)

groups = 10
UPPER_OK = '{{ "ok" | toUpper }}'
per_group = a.rules // groups
rules = ["groups:"]
for g in range(groups):
    rules.append(f"  - name: g{g}\n    rules:")
    for j in range(per_group):
        i = g * per_group + j
        s = i % a.series
        kind = i % 3
        if kind == 0:
            expr = f'rate(bench_total{{idx="{s}"}}[5m]) * 60 > {s}'
        elif kind == 1:
            expr = f'sum by (idx) (increase(bench_total{{idx="{s}"}}[10m])) > {s * 10 - 1}'
        else:
            expr = f'avg_over_time(bench_gauge{{idx="{s}"}}[5m]) >= {s}'
        rules.append(f"      - alert: Bench{i}\n        expr: {expr}\n        for: 5m\n"
                     f"        labels:\n          severity: warning\n"
                     f"        annotations:\n          summary: 'idx {{{{ $labels.idx }}}} " + UPPER_OK + "'")
with open(os.path.join(a.outdir, "big_rules.yaml"), "w") as f:
    f.write("\n".join(rules) + "\n")

last = a.steps - 1
test = ["rule_files:", "  - big_rules.yaml", "evaluation_interval: 1m", "tests:",
        "  - interval: 1m", "    input_series:"]
for s in range(a.series):
    test.append(f"      - series: 'bench_total{{idx=\"{s}\"}}'\n        values: '0+{s + 1}x{a.steps}'")
    test.append(f"      - series: 'bench_gauge{{idx=\"{s}\"}}'\n        values: '{s}x{a.steps}'")
test.append("    alert_rule_test:")
for i in range(per_group * groups):
    s = i % a.series
    test.append(f"      - eval_time: {last}m\n        alertname: Bench{i}\n        exp_alerts:\n"
                f"          - exp_labels:\n              severity: warning\n              idx: '{s}'\n"
                f"            exp_annotations:\n              summary: 'idx {s} OK'")
test.append("    promql_expr_test:")
for s in range(0, a.series, max(1, a.series // 10)):
    test.append(f"      - expr: bench_total{{idx=\"{s}\"}}\n        eval_time: {last}m\n"
                f"        exp_samples:\n          - labels: 'bench_total{{idx=\"{s}\"}}'\n"
                f"            value: {last * (s + 1)}")
with open(os.path.join(a.outdir, "big_test.yaml"), "w") as f:
    f.write("\n".join(test) + "\n")
print(f"{a.outdir}/big_test.yaml: {per_group * groups} rules, {2 * a.series} series, {a.steps} steps")
