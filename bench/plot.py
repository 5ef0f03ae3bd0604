#!/usr/bin/env python3
"""Charts of benchmark results (JSON from `dsconv bench`, bench/torch_peer.py or bench/report.py merge).

  plot.py RESULTS.json [-o OUTDIR] [--title TEXT]

writes into OUTDIR (default: beside RESULTS.json):
  bandwidth.png  per layer and backend: % of the measured device-copy bandwidth (GPU runs), or GB/s
                 where there is no device copy to compare with (CPU runs); bytes = each input read
                 once + the output written once
  speedup.png    per layer: the subject's speedup over each peer (peer time / subject time, log
                 scale; right of 1 the subject is faster)

A tool for people reading results, not a test dependency: needs matplotlib (pip install matplotlib).
"""
import argparse
import json
import math
import os
import sys
import textwrap


def _finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


def layer_label(r):
    name = f"{r['suite']}/{r['layer']}" if r.get("suite") else r["problem"][:40]
    dtype = next((t for t in r["problem"].split("_") if t in ("f32", "f16", "bf16")), "")
    return f"{name} {dtype}".strip()


def backend_label(r):
    return r["backend"] + (" (emulated)" if r.get("emulated") else "")


def collect(report):
    """Layers in order (suite, layer, problem: suites share shapes), each with {backend: row}."""
    problems, rows_of = [], {}
    for r in report["rows"]:
        key = (r.get("suite", ""), r.get("layer", ""), r["problem"])
        if key not in rows_of:
            problems.append(key)
            rows_of[key] = {}
        rows_of[key][backend_label(r)] = r
    return problems, rows_of


def grouped_barh(plt, labels, series, xlabel, title, path, log=False, ref_line=None):
    """labels: layers (top to bottom); series: [(name, [value or None per layer])]."""
    n, k = len(labels), max(1, len(series))
    height = 0.8 / k
    fig_h = max(3.0, 0.22 * n * max(1, k * 0.8) + 1.5)
    fig, ax = plt.subplots(figsize=(10, fig_h))
    for i, (name, values) in enumerate(series):
        ys = [j + (i - (k - 1) / 2) * height for j in range(n)]
        if log and ref_line is not None:
            # Bars grow from the reference line: right when above it, left when below.
            xs = [v - ref_line if _finite(v) and v > 0 else 0 for v in values]
            ax.barh(ys, xs, height=height, left=ref_line, label=name)
        else:
            xs = [v if _finite(v) else 0 for v in values]
            ax.barh(ys, xs, height=height, label=name)
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    if ref_line is not None:
        ax.axvline(ref_line, color="black", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("-o", "--outdir")
    ap.add_argument("--title", help="first line of each chart's title (default: device or host, date)")
    args = ap.parse_args(argv)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot.py: matplotlib is not installed (pip install matplotlib)", file=sys.stderr)
        return 2
    with open(args.results) as f:
        report = json.load(f)
    outdir = args.outdir or os.path.dirname(os.path.abspath(args.results))
    os.makedirs(outdir, exist_ok=True)
    where = report.get("device") or f"{report.get('host', '?')} ({report.get('cpu', '?')})"
    title = args.title or f"{where}, {report.get('date', '')[:10]}"
    if report.get("commit"):
        title += f", {report['commit']}"
    title = "\n".join(textwrap.wrap(title, 100))

    problems, rows_of = collect(report)
    labels = []
    for p in problems:
        any_row = next(iter(rows_of[p].values()))
        labels.append(layer_label(any_row))
    backends = []
    for p in problems:
        for b, r in rows_of[p].items():
            if b not in backends and r.get("measured"):
                backends.append(b)

    use_copy = any(_finite(r.get("pct_copy")) for rs in rows_of.values() for r in rs.values())
    key, xlabel = ("pct_copy", "% of device-copy bandwidth") if use_copy else ("gbps", "GB/s (min bytes / median time)")
    if use_copy and _finite(report.get("copy_gbps")):
        xlabel += f" (copy: {report['copy_gbps']:.0f} GB/s)"
    series = [(b, [rows_of[p].get(b, {}).get(key) for p in problems]) for b in backends]
    grouped_barh(plt, labels, series, xlabel, f"{title}\nbandwidth achieved per layer (higher is better)",
                 os.path.join(outdir, "bandwidth.png"))

    peers = report.get("peers", [])
    series = []
    for peer in peers:
        values = []
        for p in problems:
            subject = next((r for r in rows_of[p].values() if r.get("subject")), None)
            values.append(subject.get("speedup", {}).get(peer) if subject else None)
        if any(_finite(v) for v in values):
            series.append((f"vs {peer}", values))
    subject_names = sorted({backend_label(r) for rs in rows_of.values() for r in rs.values() if r.get("subject")})
    if series:
        grouped_barh(plt, labels, series, "speedup = peer time / subject time (log scale; > 1: subject faster)",
                     f"{title}\nspeedup of {', '.join(subject_names)} over each peer",
                     os.path.join(outdir, "speedup.png"), log=True, ref_line=1.0)
    else:
        print("plot.py: no subject row has a measured peer: no speedup chart", file=sys.stderr)
    print(f"plot.py: charts in {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
