#!/usr/bin/env python3
"""The performance model's regression guard.

Profiles a fixed problem set (bench/data/model_baseline_problems.txt) with `dsconv profile`, every block
counted, and compares each kernel launch with the committed baseline (bench/data/model_baseline.json).
Fails when a launch's bytes L2<->SM, shared-memory bank conflicts or modelled time get worse by more
than 5%, when a launch appears or disappears, or when a kernel of the build's ptxas report is run by no
problem of the set. A kernel change that is meant to move these figures updates the baseline in the
same commit (--update), so that the diff shows the new figures to a reviewer.

The figures are a model (cuda/emu/model/README.md), deterministic for one toolchain: clang and nvcc
upgrades can move them too, and then the baseline is updated the same way.

  python3 bench/model_guard.py --dsconv build/profile/bin/dsconv             # check (what CI runs)
  python3 bench/model_guard.py --dsconv build/profile/bin/dsconv --update    # rewrite the baseline
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 0.05
# (field, what it is): worse means larger.
GUARDED = [
    ("l2_bytes", "bytes L2<->SM"),
    ("smem_bank_conflicts", "shared-memory bank conflicts (extra wavefronts)"),
    ("modelled_us", "modelled time on the baseline's card (us)"),
]
# Kept in the baseline for the reviewer's eyes; only GUARDED fields can fail.
KEPT = ["problem", "args", "launch", "implementation", "kernel", "registers", "occupancy_warps_per_sm",
        "l2_bytes", "dram_bytes", "ideal_bytes", "sectors_per_request", "smem_wavefronts",
        "smem_bank_conflicts", "fmas", "bound", "modelled_us"]


def read_problems(path):
    problems = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            tokens = shlex.split(line)
            problems.append((tokens[0], tokens[1:], number))
    return problems


def profile(dsconv, descriptor, args, device):
    cmd = [dsconv, "profile", descriptor, *args, "--format", "json", "--max-blocks", "0", "--device", device]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s\nexit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return json.loads(p.stdout)


def rounded(v):
    return round(v, 4) if isinstance(v, float) else v


def current_rows(dsconv, problems, device):
    rows = []
    for descriptor, args, number in problems:
        for r in profile(dsconv, descriptor, args, device):
            if "skipped" in r:
                raise RuntimeError("line %d: the cuda backend does not run %s: %s" % (number, descriptor, r["skipped"]))
            r["args"] = " ".join(args)
            rows.append({k: rounded(r.get(k)) for k in KEPT})
    return rows


def key(r):
    return (r["problem"], r["args"], r["launch"])


def normalize_kernel(name):
    name = " ".join(name.split())
    return name[5:] if name.startswith("void ") else name


def report_kernels(path):
    kernels = set()
    with open(path) as f:
        for line in f:
            if line.startswith("#") or line.startswith("arch") or not line.strip():
                continue
            fields = line.split(None, 6)
            if len(fields) == 7:
                kernels.add(normalize_kernel(fields[6]))
    return kernels


def write_baseline(path, rows, device):
    with open(path, "w") as f:
        f.write('{"model": "dsconv GPU performance model on the CPU emulator (uncalibrated)", "device": %s,\n'
                ' "tolerance": %s, "rows": [\n' % (json.dumps(device), TOLERANCE))
        f.write(",\n".join("  " + json.dumps(r) for r in rows))
        f.write("\n]}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dsconv", required=True, help="the profile build's driver (build/profile/bin/dsconv)")
    ap.add_argument("--problems", default=os.path.join(HERE, "data", "model_baseline_problems.txt"))
    ap.add_argument("--baseline", default=os.path.join(HERE, "data", "model_baseline.json"))
    ap.add_argument("--ptxas-report", help="check that every kernel of this report is profiled")
    ap.add_argument("--device", default="h100", help="the card (only with --update; a check uses the baseline's)")
    ap.add_argument("--update", action="store_true", help="write the current figures as the new baseline")
    opts = ap.parse_args()

    baseline = None
    device = opts.device
    if not opts.update:
        with open(opts.baseline) as f:
            baseline = json.load(f)
        device = baseline["device"]
    try:
        rows = current_rows(opts.dsconv, read_problems(opts.problems), device)
    except RuntimeError as e:
        print("model_guard: FAILED: %s" % e)
        return 1

    failures = []
    if opts.ptxas_report:
        covered = {normalize_kernel(r["kernel"]) for r in rows}
        for k in sorted(report_kernels(opts.ptxas_report) - covered):
            failures.append("kernel %s is run by no problem of %s" % (k, os.path.relpath(opts.problems)))

    if opts.update:
        if failures:
            print("model_guard: not updating:\n  " + "\n  ".join(failures))
            return 1
        write_baseline(opts.baseline, rows, device)
        print("model_guard: wrote %d rows to %s (device %s)" % (len(rows), opts.baseline, device))
        return 0

    base = {key(r): r for r in baseline["rows"]}
    cur = {key(r): r for r in rows}
    better = 0
    for k, r in cur.items():
        if k not in base:
            failures.append("new launch %s %s (launch %d, %s): not in the baseline" % (k[0], k[1], k[2], r["implementation"]))
            continue
        b = base[k]
        if r["implementation"] != b["implementation"]:
            failures.append("%s %s: implementation %s, baseline %s" % (k[0], k[1], r["implementation"], b["implementation"]))
        for field, what in GUARDED:
            old, new = b[field] or 0, r[field] or 0
            if new > old * (1 + TOLERANCE) + 1e-9:
                failures.append("%s %s (%s): %s %s -> %s (%+.1f%%)" % (
                    k[0], k[1], r["implementation"], what, old, new, 100.0 * (new - old) / old if old else float("inf")))
            elif new < old * (1 - TOLERANCE):
                better += 1
    for k, b in base.items():
        if k not in cur:
            failures.append("launch %s %s (launch %d, %s) is gone from the results" % (k[0], k[1], k[2], b["implementation"]))

    print("model_guard: %d launches of %d problems against %s (device %s, tolerance %d%%)" % (
        len(rows), len({(r["problem"], r["args"]) for r in rows}), os.path.relpath(opts.baseline), device,
        round(TOLERANCE * 100)))
    if better:
        print("model_guard: note: %d figures improved by more than %d%%; --update records them" % (
            better, round(TOLERANCE * 100)))
    if failures:
        print("model_guard: FAILED:\n  " + "\n  ".join(failures))
        print("model_guard: if the change is intended, rerun with --update and commit %s with it" %
              os.path.relpath(opts.baseline))
        return 1
    print("model_guard: PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
