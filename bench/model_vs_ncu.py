#!/usr/bin/env python3
"""Model vs measured: Nsight Compute's figures for the kernels of bench/data/model_calibration_problems.txt
beside the performance model's (dsconv profile), on a GPU machine.

For each problem, runs `ncu` on the first dsconv kernel of `dsconv bench PROBLEM --backend cuda` (caches
flushed before the kernel, application clocks) and writes a markdown table (and JSON) of each figure:
model, measured, measured/model. Used by bench/gpu_check.sh; standalone:

  python3 bench/model_vs_ncu.py --dsconv build/gpu/bin/dsconv --model bench/data/model_calibration_h100.json \\
      --out /tmp/model_vs_measured

The model rows are committed (the model runs on the CPU emulator of the profile preset, which a GPU
machine need not build); regenerate them after a kernel change with
  build/profile/bin/dsconv profile --problems bench/data/model_calibration_problems.txt --max-blocks 0 \\
      --device h100 --format json --out bench/data/model_calibration_h100.json      (and --device h200)

Exit status 0 also when ncu cannot read the counters here (no permission): the table then says why.
"""
import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time

# (figure, model field or function of the model row, ncu metrics summed, scale applied to the sum)
FIGURES = [
    ("DRAM bytes", "dram_bytes", ["dram__bytes_read.sum", "dram__bytes_write.sum"], 1.0),
    ("L2<->SM sectors (model: every sector requested; measured: L1 misses)", lambda r: r["l2_bytes"] / 32.0,
     ["lts__t_sectors_srcunit_tex.sum"], 1.0),
    ("global requests", "global_requests",
     ["l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum", "l1tex__t_requests_pipe_lsu_mem_global_op_st.sum"], 1.0),
    ("global sectors (L1)", lambda r: r["l2_bytes"] / 32.0,
     ["l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum", "l1tex__t_sectors_pipe_lsu_mem_global_op_st.sum"], 1.0),
    ("shared wavefronts", "smem_wavefronts",
     ["l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum", "l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum"], 1.0),
    ("shared bank conflicts", "smem_bank_conflicts",
     ["l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum",
      "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum"], 1.0),
    ("FP32 FMAs (thread)", "fmas", ["smsp__sass_thread_inst_executed_op_ffma_pred_on.sum"], 1.0),
    ("registers per thread", "registers", ["launch__registers_per_thread"], 1.0),
    ("warps per SM (model: resident; measured: achieved)", "occupancy_warps_per_sm",
     ["sm__warps_active.avg.per_cycle_active"], 1.0),
    ("duration us (model: roofline)", "modelled_us", ["gpu__time_duration.sum"], 1e-3),
]


def available_metrics(ncu):
    """Base names ncu knows on this GPU (None when it cannot say: then every metric is tried)."""
    try:
        p = subprocess.run([ncu, "--query-metrics"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = set()
    for line in p.stdout.splitlines():
        word = line.split(" ", 1)[0].strip()
        if "__" in word:
            names.add(word)
    return names or None


def base_name(metric):
    for suffix in (".sum", ".avg.per_cycle_active", ".avg", ".max", ".min"):
        if metric.endswith(suffix):
            return metric[: -len(suffix)]
    return metric


def number(text):
    try:
        return float(text.replace(",", "").strip())
    except ValueError:
        return None


def measure(ncu, dsconv, problem, metrics, timeout):
    cmd = [ncu, "--csv", "--page", "raw", "--print-units", "base", "--clock-control", "none",
           "--cache-control", "all", "-k", "regex:dw_fwd", "--launch-count", "1", "--metrics", ",".join(metrics),
           dsconv, "bench", problem, "--backend", "cuda", "--warmup", "0", "--max-iters", "1", "--min-time", "0",
           "--max-time", "1", "--no-progress"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "ncu took over %ds" % timeout
    text = p.stdout + p.stderr
    if "ERR_NVGPUCTRPERM" in text:
        return None, "no permission to read the GPU's performance counters (ERR_NVGPUCTRPERM)"
    lines = [l for l in p.stdout.splitlines() if l.startswith('"')]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header = next((r for r in rows if r and r[0] == "ID"), None)
    if header is None:
        return None, "ncu printed no results (exit %d): %s" % (p.returncode, text.strip().splitlines()[-1:] or "")
    for r in rows[rows.index(header) + 1:]:
        values = dict(zip(header, r))
        if all(number(values.get(m, "")) is not None for m in metrics if m in values):
            out = {m: number(values[m]) for m in metrics if m in values}
            out["kernel"] = values.get("Kernel Name", "")
            return out, ""
    return None, "ncu's CSV had no row of numbers"


def model_value(row, field):
    v = field(row) if callable(field) else row.get(field)
    return float(v) if isinstance(v, (int, float)) else None


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1e6:
        return "%.4g" % v
    return "%.3f" % v if v != int(v) else "%d" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ncu", default="ncu")
    ap.add_argument("--dsconv", required=True, help="a real-CUDA build's driver")
    ap.add_argument("--model", required=True, help="model rows (dsconv profile --format json)")
    ap.add_argument("--out", required=True, help="writes OUT.md and OUT.json")
    ap.add_argument("--gpu", default="", help="the GPU's name, for the table's title")
    ap.add_argument("--timeout", type=int, default=30, help="seconds per problem")
    ap.add_argument("--budget", type=int, default=85, help="seconds for everything; later problems are skipped")
    opts = ap.parse_args()

    with open(opts.model) as f:
        model_rows = [r for r in json.load(f) if "skipped" not in r and r.get("launch", 0) == 0]
    known = available_metrics(opts.ncu)
    metrics = []
    missing = []
    for _, _, ms, _ in FIGURES:
        for m in ms:
            if known is None or base_name(m) in known:
                metrics.append(m)
            else:
                missing.append(m)

    start = time.time()
    results = []
    notes = []
    for row in model_rows:
        left = opts.budget - (time.time() - start)
        if left < 5:
            notes.append("%s: not measured, the time budget is spent" % row["problem"])
            continue
        got, why = measure(opts.ncu, opts.dsconv, row["problem"], metrics, min(opts.timeout, int(left)))
        if got is None:
            notes.append("%s: not measured: %s" % (row["problem"], why))
            if "ERR_NVGPUCTRPERM" in why:
                break
            continue
        figures = []
        for name, field, ms, scale in FIGURES:
            have = [got[m] for m in ms if m in got]
            measured = sum(have) * scale if len(have) == len(ms) else None
            modelled = model_value(row, field)
            ratio = measured / modelled if measured is not None and modelled else None
            figures.append({"figure": name, "model": modelled, "measured": measured, "measured_over_model": ratio})
        results.append({"problem": row["problem"], "implementation": row.get("implementation", ""),
                        "kernel": got.get("kernel", ""), "figures": figures})

    with open(opts.out + ".json", "w") as f:
        json.dump({"gpu": opts.gpu, "model_rows": os.path.basename(opts.model), "results": results, "notes": notes,
                   "metrics_not_available": missing}, f, indent=1)
    md = ["# Performance model vs Nsight Compute%s" % (" on " + opts.gpu if opts.gpu else ""), "",
          "Model rows: %s (uncalibrated model; see cuda/emu/model/README.md). Measured: ncu, caches flushed, "
          "application clocks, the first dsconv kernel of each problem." % os.path.basename(opts.model), ""]
    for r in results:
        md += ["## %s" % r["problem"], "", "`%s`" % r["implementation"], "",
               "| figure | model | measured | measured / model |", "|---|---:|---:|---:|"]
        for f in r["figures"]:
            md.append("| %s | %s | %s | %s |" % (f["figure"], fmt(f["model"]), fmt(f["measured"]),
                                                  fmt(f["measured_over_model"])))
        md.append("")
    if notes or missing:
        md += ["## Notes", ""] + ["- " + n for n in notes]
        if missing:
            md.append("- metrics this ncu does not know: " + ", ".join(missing))
    with open(opts.out + ".md", "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
