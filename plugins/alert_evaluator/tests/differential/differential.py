#!/usr/bin/env python3
"""Differential test: random PromQL expressions over random series, evaluated by Prometheus
(promtool) and by this engine, which must agree exactly.

  differential.py <alert_rules_test binary> [--seed N] [--count N] [--keep DIR]

1. Generates input series and N type-correct random expressions from a small grammar.
2. Writes them as promql_expr_test cases with no expectations, so that both promtool and
   the engine (alert_rules_test) report what they got for every non-empty result.
3. Compares the two reports: the same errors, the same label sets, the same values (NaN
   equal to NaN; others to 1e-9 relative or 1e-12 absolute: promtool loads test series in
   Go map order, so its own sums and averages of cancelling floats change from run to run).
Exit 0 when they agree, 1 when they do not, 77 when promtool is missing (CTest: skipped).
"""
import argparse
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

RANGE_FUNCS = ["rate", "irate", "increase", "delta", "idelta", "resets", "changes", "deriv",
               "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
               "count_over_time", "last_over_time", "stddev_over_time", "present_over_time"]
MATH_FUNCS = ["abs", "ceil", "floor", "round", "sgn"]
AGGS = ["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"]
ARITH = ["+", "-", "*", "/"]
COMPARE = ["==", "!=", ">", "<", ">=", "<="]


def series_block(rng):
    lines = []
    for inst in ["a", "b", "c"]:
        for job in ["x", "y"]:
            start = rng.randint(0, 50)
            step = rng.randint(0, 9)
            values = f"{start}+{step}x8"
            if rng.random() < 0.3:
                values += f" {rng.randint(0, 5)}+{step}x12"  # a counter reset
            lines.append((f'req_total{{instance="{inst}", job="{job}"}}', values))
            vals = " ".join(str(rng.randint(-20, 40)) if rng.random() > 0.1 else "_"
                            for _ in range(21))
            lines.append((f'temp{{instance="{inst}", job="{job}"}}', vals))
    for le in ["0.1", "0.5", "1", "+Inf"]:
        base = {"0.1": 10, "0.5": 30, "1": 45, "+Inf": 50}[le]
        lines.append((f'lat_bucket{{job="x", le="{le}"}}', f"{base}+{base // 5}x20"))
    return lines


def selector(rng):
    name = rng.choice(["req_total", "temp"])
    matcher = rng.choice(["", '{instance="a"}', '{job=~"x|y"}', '{instance!="b"}',
                          '{job="y", instance=~"a|c"}'])
    return name + matcher


def vector_expr(rng, depth):
    choice = rng.random()
    if depth <= 0 or choice < 0.25:
        return selector(rng)
    if choice < 0.45:
        rng_s = rng.choice(["1m", "3m", "5m", "10m"])
        off = rng.choice(["", "", " offset 1m"])
        return f"{rng.choice(RANGE_FUNCS)}({selector(rng)}[{rng_s}]{off})"
    if choice < 0.6:
        agg = rng.choice(AGGS)
        mod = rng.choice(["", " by (job)", " without (instance)", " by (instance, job)"])
        return f"{agg}{mod} ({vector_expr(rng, depth - 1)})"
    if choice < 0.7:
        return f"{rng.choice(MATH_FUNCS)}({vector_expr(rng, depth - 1)})"
    if choice < 0.8:
        op = rng.choice(ARITH + COMPARE)
        b = " bool" if op in COMPARE and rng.random() < 0.5 else ""
        num = rng.choice(["2", "0.5", "10", "-3"])
        if rng.random() < 0.5:
            return f"{vector_expr(rng, depth - 1)} {op}{b} {num}"
        return f"{num} {op}{b} {vector_expr(rng, depth - 1)}"
    if choice < 0.85:
        op = rng.choice(ARITH + COMPARE + ["and", "or", "unless"])
        left = f"sum by (instance, job) ({vector_expr(rng, depth - 1)})"
        right = f"sum by (instance, job) ({vector_expr(rng, depth - 1)})"
        on = rng.choice(["", " on (instance, job)", " ignoring (job)"]) if op in ARITH else ""
        if on == " ignoring (job)":
            right = f"sum by (instance) ({vector_expr(rng, depth - 1)})"
            left = f"sum by (instance) ({vector_expr(rng, depth - 1)})"
        return f"{left} {op}{on} {right}"
    return other_expr(rng, depth)


def other_expr(rng, depth):
    sel, inner = selector(rng), vector_expr(rng, depth - 1)
    return rng.choice([
        f"histogram_quantile({rng.choice(['0.5', '0.9', '0.99'])}, "
        f"sum by (le) (rate(lat_bucket[5m])))",
        f"absent({sel})",
        f"absent_over_time({sel}[2m])",
        f"quantile by (job) ({rng.choice(['0', '0.3', '0.5', '1'])}, {inner})",
        f'count_values by (job) ("v", round({inner}))',
        f"clamp({inner}, -1, 5)",
        f"clamp_max({inner}, 3) - clamp_min({inner}, 3)",
        f"predict_linear({sel}[5m], 60)",
        f"quantile_over_time(0.3, {sel}[5m])",
        f"timestamp({sel})",
        f'label_replace({inner}, "first", "$1", "instance", "(.)")',
        f'label_join({inner}, "id", "-", "job", "instance")',
        f"sum by (instance, job) ({inner}) * on (instance) group_left "
        f"sum by (instance) ({selector(rng)})",
        f"{inner} * scalar(sum({sel}))",
        f"vector(2) + time() - scalar(count({sel}))",
    ])


def test_file(series, exprs):
    out = ["rule_files: []", "evaluation_interval: 1m", "tests:", "  - interval: 1m",
           "    input_series:"]
    for s, v in series:
        out += [f"      - series: '{s}'", f"        values: '{v}'"]
    out.append("    promql_expr_test:")
    for expr, t in exprs:
        out += [f"      - expr: '{expr}'", f"        eval_time: {t}"]
    return "\n".join(out) + "\n"


SAMPLE = re.compile(r"(\{[^}]*\}) ([^ ,\]]+)")
EXPR = re.compile(r'expr: "(.*)", time: ([0-9a-z]+)(,|, err: .*)$')


def results(output, unquote):
    """{(expr, time): None for an error, else {labels: value}} from a promtool-style report.
    Expressions whose result was empty pass and are absent."""
    out, key = {}, None
    for line in output.splitlines():
        line = line.strip()
        m = EXPR.match(line)
        if m:
            key = (unquote(m.group(1)), m.group(2))
            if m.group(3).startswith(", err:"):
                out[key], key = None, None
        elif line.startswith("got:") and key is not None:
            out[key] = {labels: float(value.replace("Inf", "inf"))
                        for labels, value in SAMPLE.findall(line[4:])}
            key = None
    return out


def same(a, b):
    if a is None or b is None:
        return a is b
    if a.keys() != b.keys():
        return False
    for k, x in a.items():
        y = b[k]
        if math.isnan(x) or math.isnan(y):
            if not (math.isnan(x) and math.isnan(y)):
                return False
        elif x != y and abs(x - y) > max(1e-9 * max(abs(x), abs(y)), 1e-12):
            return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("engine")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--keep")
    args = parser.parse_args()
    if shutil.which("promtool") is None:
        print("SKIPPED: promtool not installed (Debian package prometheus)")
        return 77
    rng = random.Random(args.seed)
    series = series_block(rng)
    exprs = [(vector_expr(rng, 3), f"{rng.randint(3, 20)}m") for _ in range(args.count)]
    exprs = list(dict.fromkeys(exprs))  # reports are keyed by (expr, time)
    work = args.keep or tempfile.mkdtemp(prefix="promql-differential-")
    os.makedirs(work, exist_ok=True)
    try:
        probe = os.path.join(work, "probe_test.yaml")
        with open(probe, "w") as f:
            f.write(test_file(series, exprs))
        prom = subprocess.run(["promtool", "test", "rules", probe], capture_output=True,
                              text=True)
        ours = subprocess.run([args.engine, probe], capture_output=True, text=True)
        go_unquote = lambda q: q.replace('\\"', '"').replace("\\\\", "\\")
        expected = results(prom.stdout + prom.stderr, go_unquote)
        got = results(ours.stdout + ours.stderr, lambda q: q)
        empty = {}
        bad = [(e, t) for e, t in exprs
               if not same(expected.get((e, t), empty), got.get((e, t), empty))]
        errors = sum(1 for v in expected.values() if v is None)
        print(f"{len(exprs)} random expressions (seed {args.seed}), {len(expected)} with a "
              f"non-empty result, {errors} of them errors in Prometheus too")
        for e, t in bad[:20]:
            print(f"DISAGREE at {t}: {e}\n  promtool: {expected.get((e, t), empty)}\n"
                  f"  engine:   {got.get((e, t), empty)}")
        if bad:
            print(f"{len(bad)} disagreements")
            return 1
        print("the engine agrees with promtool on every one")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
