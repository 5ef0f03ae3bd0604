#!/usr/bin/env python3
"""Merge, tabulate and summarize benchmark results (JSON written by `dsconv bench` and
bench/torch_peer.py, schema "dsconv-bench-1"). Standard library only.

  report.py merge RESULTS.json [MORE.json ...] -o merged.json
      The rows of every file in one report; the subjects' speedups over every peer are recomputed
      (peer median / subject median, matched by problem descriptor), and % of copy is recomputed for
      every device row against one copy bandwidth: the first file's that has one.
  report.py markdown RESULTS.json [-o results.md]
      A per-problem table (subject time, GB/s, % copy, speedup over each peer) and every row.
  report.py summary RESULTS.json
      Per suite: layers, geometric-mean speedup over each peer, the best and worst layer.
"""
import argparse
import json
import math
import sys


def load(path):
    with open(path) as f:
        data = json.load(f)
    if data.get("schema") != "dsconv-bench-1":
        raise SystemExit(f"{path}: not a dsconv benchmark result (schema {data.get('schema')!r})")
    return data


def _finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


def _layer_key(r):
    """Suites share shapes (MobileNetV2 and EfficientNet-B0 start alike): rows match by all three."""
    return (r.get("suite", ""), r.get("layer", ""), r["problem"])


def recompute(report):
    """Speedups of subject rows over each peer, and % of copy, from the medians."""
    copy = report.get("copy_gbps")
    by_key = {}
    for r in report["rows"]:
        by_key[(_layer_key(r), r["backend"])] = r
    for r in report["rows"]:
        r["pct_copy"] = (100.0 * r["gbps"] / copy
                         if r.get("device") and not r.get("emulated") and _finite(r.get("gbps")) and _finite(copy)
                         and copy > 0 else None)
        if not r.get("subject"):
            continue
        r["speedup"] = {}
        if not _finite(r.get("median_ms")) or r["median_ms"] <= 0:
            continue
        for peer in report["peers"]:
            p = by_key.get((_layer_key(r), peer))
            if p is not None and _finite(p.get("median_ms")) and p["median_ms"] > 0:
                r["speedup"][peer] = p["median_ms"] / r["median_ms"]
    return report


def merge(reports):
    """One report from several runs of one session (e.g. dsconv at f32 and f16, PyTorch at both).

    Run-wide facts come from the first report; the copy bandwidth from the first that measured one.
    Rows keep their subject flag; every backend that is not a subject is a peer."""
    out = dict(reports[0])
    out["rows"], out["peers"], out["notes"], out["sources"] = [], [], [], []
    if not _finite(out.get("copy_gbps")):
        out["copy_gbps"] = next((r["copy_gbps"] for r in reports if _finite(r.get("copy_gbps"))), None)
    for rep in reports:
        out["sources"].append({"tool": rep.get("tool"), "command": rep.get("command"), "device": rep.get("device"),
                               "copy_gbps": rep.get("copy_gbps")})
        out["notes"] += [n for n in rep.get("notes", []) if n not in out["notes"]]
        out["peers"] += [p for p in rep.get("peers", []) if p not in out["peers"]]
        for r in rep["rows"]:
            out["rows"].append(dict(r))
            if not r.get("subject") and r["backend"] not in out["peers"]:
                out["peers"].append(r["backend"])
    # Rows of one problem together, in first-seen order, the subject first.
    order = {}
    for r in out["rows"]:
        order.setdefault(_layer_key(r), len(order))
    out["rows"].sort(key=lambda r: (order[_layer_key(r)], not r.get("subject")))
    return recompute(out)


def _fmt(x, digits=4):
    if not _finite(x):
        return "-"
    if x == 0:
        return "0"
    decimals = max(0, min(9, digits - 1 - int(math.floor(math.log10(abs(x))))))
    return f"{x:.{decimals}f}"


def _speedup(x):
    return f"{_fmt(x, 3)}x" if _finite(x) else "-"


def _label(r):
    layer = f"{r['suite']}/{r['layer']}" if r.get("suite") else "(command line)"
    return layer


def _backend(r):
    return r["backend"] + ("(emu)" if r.get("emulated") else "")


def markdown(report):
    peers = report["peers"]
    lines = []
    meta = [f"date {report.get('date', '?')}", f"host {report.get('host', '?')} ({report.get('cpu', '?')})"]
    if report.get("device"):
        meta.append(f"device {report['device']}")
    if _finite(report.get("copy_gbps")):
        meta.append(f"device copy {report['copy_gbps']:.0f} GB/s")
    if report.get("commit"):
        meta.append(f"commit {report['commit']}")
    lines.append("; ".join(meta))
    lines.append("")
    for s in report.get("sources", [{"command": report.get("command")}]):
        if s.get("command"):
            lines.append(f"    {s['command']}")
    lines.append("")
    show_copy = any(_finite(r.get("pct_copy")) for r in report["rows"])
    head = ["layer", "problem", "subject", "median ms", "GB/s"] + (["% copy"] if show_copy else []) + \
        ["GFLOP/s", "check"] + [f"vs {p}" for p in peers]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---", "---", "---"] + ["---:"] * (len(head) - 3)) + "|")
    for r in report["rows"]:
        if not r.get("subject"):
            continue
        cells = [_label(r), f"`{r['problem']}`", f"{_backend(r)} {r.get('implementation') or ''}".strip(),
                 _fmt(r.get("median_ms")), _fmt(r.get("gbps"), 3)]
        if show_copy:
            cells.append(f"{r['pct_copy']:.1f}%" if _finite(r.get("pct_copy")) else "-")
        cells += [_fmt(r.get("gflops"), 3), r.get("check", "-")]
        cells += [_speedup(r.get("speedup", {}).get(p)) for p in peers]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("vs PEER = peer median / subject median: above 1, the subject is faster.")
    lines.append("")
    lines.append("All rows:")
    lines.append("")
    head = ["layer", "backend", "implementation", "median ms", "min ms", "spread", "GB/s"] + \
        (["% copy"] if show_copy else []) + ["GFLOP/s", "check", "note"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 3 + ["---:"] * (len(head) - 5) + ["---", "---"]) + "|")
    for r in report["rows"]:
        cells = [_label(r), _backend(r), r.get("implementation") or "-", _fmt(r.get("median_ms")),
                 _fmt(r.get("min_ms")),
                 f"{100 * r['spread']:.1f}%" if _finite(r.get("spread")) else "-", _fmt(r.get("gbps"), 3)]
        if show_copy:
            cells.append(f"{r['pct_copy']:.1f}%" if _finite(r.get("pct_copy")) else "-")
        cells += [_fmt(r.get("gflops"), 3), r.get("check", "-"), (r.get("note") or "").replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    if any(r.get("emulated") for r in report["rows"]):
        lines.append("")
        lines.append("(emu): CUDA kernels on the CPU emulator: CPU times, not GPU times.")
    for n in report.get("notes", []):
        lines.append("")
        lines.append(n)
    return "\n".join(lines) + "\n"


def geomean(xs):
    xs = [x for x in xs if _finite(x) and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summary(report):
    peers = report["peers"]
    suites = {}
    for r in report["rows"]:
        if r.get("subject"):
            suites.setdefault(r.get("suite") or "(command line)", []).append(r)
    lines = []
    head = f"{'suite':<20} {'layers':>6} {'timed':>5} {'failed':>6}" + "".join(f" {('vs ' + p):>12}" for p in peers)
    lines.append(head)
    for name, rows in suites.items():
        timed = sum(1 for r in rows if r.get("measured"))
        failed = sum(1 for r in rows if r.get("error"))
        line = f"{name:<20} {len(rows):>6} {timed:>5} {failed:>6}"
        for p in peers:
            g = geomean([r.get("speedup", {}).get(p) for r in rows])
            line += f" {_speedup(g):>12}"
        lines.append(line)
    lines.append("(geometric mean of the subject's speedup over each peer; above 1x the subject is faster)")
    for p in peers:
        pairs = [(r["speedup"][p], _label(r)) for rs in suites.values() for r in rs if p in r.get("speedup", {})]
        if pairs:
            lo, hi = min(pairs), max(pairs)
            lines.append(f"vs {p}: worst {_speedup(lo[0])} {lo[1]}, best {_speedup(hi[0])} {hi[1]}")
    failed = [r for r in report["rows"] if r.get("error")]
    for r in failed:
        lines.append(f"FAILED: {_label(r)} {r['backend']}: {r.get('note', '')}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("merge", help="merge results of one session into one report")
    m.add_argument("results", nargs="+")
    m.add_argument("-o", "--out", required=True)
    md = sub.add_parser("markdown", help="markdown tables")
    md.add_argument("results")
    md.add_argument("-o", "--out")
    s = sub.add_parser("summary", help="a short per-suite summary")
    s.add_argument("results")
    args = ap.parse_args(argv)

    if args.cmd == "merge":
        merged = merge([load(p) for p in args.results])
        with open(args.out, "w") as f:
            json.dump(merged, f, indent=1)
            f.write("\n")
    elif args.cmd == "markdown":
        text = markdown(recompute(load(args.results)))
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    else:
        sys.stdout.write(summary(recompute(load(args.results))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
