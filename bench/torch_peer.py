#!/usr/bin/env python3
"""PyTorch as a GPU peer of `dsconv bench`: the same problems, timed the same way, in the same JSON.

The problems come from `dsconv bench --suite NAME --dump --format json` (run here with --dsconv and
--suite, or read from a file with --problems). Each problem is run with F.conv2d on random data in
each requested variant:
  torch-nhwc   channels_last tensors (NHWC in memory: the layout of dsconv's default problems)
  torch-nchw   contiguous NCHW tensors (PyTorch's default)
Depthwise is F.conv2d with groups=C (C*M output channels); separable is that followed by a 1x1
F.conv2d; bias and the activation (F.relu, F.hardtanh, F.silu, F.hardswish, F.gelu) are applied as
PyTorch users write them. TF SAME padding that is
asymmetric (the odd pixel after) has no F.conv2d spelling: it is an explicit F.pad, timed with the
convolution, as a port of a TF model would do it.

Timing mirrors dsconv's: warm-up runs, then samples of back-to-back runs timed with CUDA events,
rotating among copies of the inputs that together exceed the L2 cache, until --min-time and at least
3 samples (at most --max-iters samples, --max-time seconds); median, minimum and spread (IQR/median).
cuDNN's autotuner is on (torch.backends.cudnn.benchmark) and TF32 off unless --tf32, so f32 is f32.
With --verify each result is first compared with dsconv's CPU reference on the same values (so
PyTorch is seen to compute the same function), or, for problems too big for the reference, with
this PyTorch formulation evaluated in float64.

Output: JSON (schema dsconv-bench-1) with one row per (problem, variant); bench/report.py merges it
with dsconv's results and computes the speedups.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

VARIANTS = ("torch-nhwc", "torch-nchw")
U = {"f32": 2.0 ** -24, "f16": 2.0 ** -11, "bf16": 2.0 ** -8}


def quantile(sorted_xs, q):
    """Linear interpolation between order statistics (NumPy's default), as bench/driver/timing.cpp."""
    if not sorted_xs:
        return 0.0
    pos = min(max(q, 0.0), 1.0) * (len(sorted_xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (pos - lo) * (sorted_xs[hi] - sorted_xs[lo])


def summarize(samples):
    s = sorted(samples)
    if not s:
        return {"samples": 0, "median_ms": None, "min_ms": None, "max_ms": None, "spread": None}
    med = quantile(s, 0.5)
    return {"samples": len(s), "median_ms": med, "min_ms": s[0], "max_ms": s[-1],
            "spread": (quantile(s, 0.75) - quantile(s, 0.25)) / med if med > 0 else 0.0}


def measure(run, timer, opts):
    """run(i) issues run number i; timer() returns (begin, end_ms). Same budget rules as dsconv."""
    t0 = time.perf_counter()
    elapsed = lambda: time.perf_counter() - t0  # noqa: E731
    n = 0
    for _ in range(opts.warmup):
        run(n)
        n += 1
        if elapsed() > opts.max_time:
            break

    def sample(runs):
        nonlocal n
        begin, end_ms = timer()
        begin()
        for _ in range(runs):
            run(n)
            n += 1
        return end_ms()

    first = sample(1)
    rps = 1
    if first < opts.sample_ms:
        rps = int(min(max(math.ceil(opts.sample_ms / max(first, 1e-6)), 1), 1000))
    per_run = [first] if rps == 1 else []
    start = elapsed()
    while len(per_run) < max(1, opts.max_iters):
        enough = elapsed() - start >= opts.min_time and len(per_run) >= min(3, opts.max_iters)
        if enough or (elapsed() >= opts.max_time and per_run):
            break
        per_run.append(sample(rps) / rps)
    stats = summarize(per_run)
    stats["runs_per_sample"] = rps
    return stats


def git_commit():
    if os.environ.get("DSCONV_COMMIT"):
        return os.environ["DSCONV_COMMIT"]
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        return subprocess.run(["git", "-C", here, "describe", "--always", "--dirty", "--abbrev=12", "--exclude=*"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f", {os.cpu_count()} threads"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_problems(args):
    if args.problems:
        with open(args.problems) as f:
            return json.load(f)
    cmd = [args.dsconv, "bench", "--dump", "--format", "json"]
    for s in args.suite:
        cmd += ["--suite", s]
    if args.batch:
        cmd += ["--batch", str(args.batch)]
    if args.dtype:
        cmd += ["--dtype", args.dtype]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"torch_peer: {' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return json.loads(res.stdout)


class Peer:
    """One problem in one variant: weights, rotating inputs, the forward function."""

    def __init__(self, torch, p, variant, device, sets, seed):
        self.torch, self.p, self.variant = torch, p, variant
        dt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[p["dtype"]]
        cl = variant == "torch-nhwc"
        fmt = torch.channels_last if cl else torch.contiguous_format
        g = torch.Generator(device=device)
        g.manual_seed(seed)

        def nonzero(shape):
            # Magnitudes in [0.125, 1] with random signs: never zero, like dsconv's data.
            mag = torch.rand(shape, generator=g, device=device, dtype=torch.float32) * 0.875 + 0.125
            sign = torch.randint(0, 2, shape, generator=g, device=device, dtype=torch.int8).float() * 2 - 1
            return (mag * sign).to(dt)

        n, c, h, w = p["n"], p["c"], p["h"], p["w"]
        m, o, kh, kw = p["multiplier"], p["out_channels"], p["kh"], p["kw"]
        op = p["op"]
        if op == "conv2d":
            wshape, groups = (o, c, kh, kw), 1
        else:
            wshape, groups = (c * m, 1, kh, kw), c
        x0 = nonzero((n, c, h, w)).contiguous(memory_format=fmt)
        w0 = nonzero(wshape).contiguous(memory_format=fmt)
        pw0 = nonzero((o, c * m, 1, 1)).contiguous(memory_format=fmt) if op == "separable" else None
        b0 = nonzero((p["out_channels"] if op != "depthwise" else c * m,)) if p["bias"] else None
        self.base = (x0, w0, pw0, b0)
        # Copies (not fresh draws): the values do not change the time; their addresses do.
        self.sets = [self.base] + [tuple(None if t is None else t.clone(memory_format=torch.preserve_format)
                                         for t in self.base) for _ in range(sets - 1)]
        pads = (p["pad_top"], p["pad_bottom"], p["pad_left"], p["pad_right"])
        self.groups = groups
        self.symmetric = pads[0] == pads[1] and pads[2] == pads[3]
        self.note = "" if self.symmetric else "asymmetric TF SAME padding: F.pad + F.conv2d, both timed"

    def forward(self, x, w, pw, b, activation=None):
        """The problem as PyTorch code: F.pad only where F.conv2d's symmetric padding cannot say it."""
        F = self.torch.nn.functional
        p = self.p
        pt, pb, pl, pr = p["pad_top"], p["pad_bottom"], p["pad_left"], p["pad_right"]
        if self.symmetric:
            pad = (pt, pl)
        else:
            x = F.pad(x, (pl, pr, pt, pb))
            pad = 0
        y = F.conv2d(x, w, None if pw is not None else b, (p["stride_h"], p["stride_w"]), pad,
                     (p["dilation_h"], p["dilation_w"]), self.groups)
        if pw is not None:
            y = F.conv2d(y, pw, b)
        act = p["activation"] if activation is None else activation
        if act == "relu":
            y = F.relu(y)
        elif act == "relu6":
            y = F.hardtanh(y, 0.0, 6.0)
        elif act == "silu":
            y = F.silu(y)
        elif act == "hswish":
            y = F.hardswish(y)
        elif act == "gelu":
            y = F.gelu(y)
        elif act == "gelu_tanh":
            y = F.gelu(y, approximate="tanh")
        elif act != "none":
            raise ValueError(f"torch_peer: unknown activation {act!r}")
        return y

    def run(self, i):
        return self.forward(*self.sets[i % len(self.sets)])

    def check(self, dsconv=None, workdir=None):
        """(max |y - ref| / bound, max |y - ref| / scale, what ref was); the first <= 1 passes.

        ref is dsconv's CPU reference (`dsconv run --backend cpu-ref` on the same values, as NCHW/OIHW
        .npy files) when `dsconv` is given, which checks that PyTorch computes the same function as
        dsconv; otherwise this formulation evaluated in float64, which checks only the arithmetic.
        The bound is dsconv's: tolerance * sum|terms|, the sum being the convolution of |x|, |w|
        without the activation; tolerance = L (4 u(dtype) + 4 sqrt(terms) u(f32)) (+ 8 L u(f32) for the
        transcendental activations), L the activation's largest slope, as in tools/common/oracle.cpp."""
        torch = self.torch
        p = self.p
        y = self.forward(*self.base).double()
        up = [None if t is None else t.double() for t in self.base]
        if dsconv:
            ref = self._dsconv_reference(dsconv, workdir).to(y.device)
            source = "dsconv cpu-ref"
        else:
            ref = self.forward(*up)
            source = "PyTorch float64"
        scale = self.forward(*[None if t is None else t.abs() for t in up], activation="none")
        terms = p["kh"] * p["kw"] * (p["c"] if p["op"] == "conv2d" else 1) + \
            (p["c"] * p["multiplier"] if p["op"] == "separable" else 0)
        lip = {"silu": 1.1, "gelu": 1.13, "gelu_tanh": 1.13, "hswish": 1.5}.get(p["activation"], 1.0)
        tol = lip * (4 * U[p["dtype"]] + 4 * math.sqrt(terms) * U["f32"]) + (8 * lip * U["f32"] if lip > 1 else 0)
        if torch.isnan(y).any() or ref.shape != y.shape:
            return math.inf, math.inf, source
        err = (y - ref).abs()
        ratio = (err / (tol * scale).clamp_min(1e-300)).max().item()
        rel = (err / scale.clamp_min(1e-300)).max().item()
        return ratio, rel, source

    def _dsconv_reference(self, dsconv, workdir):
        import numpy as np
        torch = self.torch
        p = self.p
        names = ("input", "filter", "pointwise", "bias")
        cmd = [dsconv, "run", "--op", p["op"], "--stride", f"{p['stride_h']},{p['stride_w']}",
               "--dilation", f"{p['dilation_h']},{p['dilation_w']}",
               "--padding", f"{p['pad_top']},{p['pad_bottom']},{p['pad_left']},{p['pad_right']}",
               "--layout", "NCHW", "--filter-layout", "oihw", "--dtype", "f32", "--activation", p["activation"],
               "--backend", "cpu-ref", "--output", os.path.join(workdir, "ref.npy")]
        for name, t in zip(names, self.base):
            if t is None:
                continue
            path = os.path.join(workdir, name + ".npy")
            # NCHW / OIHW in C order; f16 and bf16 values widen to f32 exactly.
            np.save(path, t.float().contiguous().cpu().numpy())
            cmd += ["--" + name, path]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"dsconv run failed ({res.returncode}): {res.stderr.strip()}")
        return torch.from_numpy(np.load(os.path.join(workdir, "ref.npy"))).double()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_argument_group("problems")
    src.add_argument("--problems", help="JSON list written by `dsconv bench --dump --format json`")
    src.add_argument("--suite", action="append", default=[], help="suite to dump with --dsconv (repeatable)")
    src.add_argument("--dsconv", default="dsconv", help="the dsconv driver (default: dsconv on PATH)")
    src.add_argument("--batch", type=int, help="batch size override passed to the dump")
    src.add_argument("--dtype", choices=["f32", "f16", "bf16"], help="dtype override passed to the dump")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list of {', '.join(VARIANTS)}")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu (to check this script without a GPU)")
    ap.add_argument("--min-time", type=float, default=0.25)
    ap.add_argument("--max-iters", type=int, default=100)
    ap.add_argument("--max-time", type=float, default=10.0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--sample-ms", type=float, default=1.0)
    ap.add_argument("--rotate-mib", type=float, default=256.0, help="input copies to rotate among (default 256 MiB)")
    ap.add_argument("--verify", action="store_true",
                    help="check every result first: against dsconv's reference (needs --dsconv) up to "
                         "--max-ref-gflop, against this formulation in float64 up to --max-f64-gflop")
    ap.add_argument("--max-ref-gflop", type=float, default=2.0, help="dsconv reference check up to this size")
    ap.add_argument("--max-f64-gflop", type=float, default=50.0, help="float64 check up to this size")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 for f32 (faster, ~1e-3 relative error)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--commit", default=None)
    ap.add_argument("-o", "--out", help="write the JSON here (default stdout)")
    args = ap.parse_args(argv)
    if not args.problems and not args.suite:
        ap.error("give --problems FILE or --suite NAME (with --dsconv PATH)")
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            ap.error(f"unknown variant {v!r} (variants: {', '.join(VARIANTS)})")

    try:
        import torch
    except ImportError as e:
        raise SystemExit(f"torch_peer: PyTorch is not installed ({e})")
    problems = load_problems(args)
    device = torch.device(args.device)
    on_gpu = device.type == "cuda"
    if on_gpu and not torch.cuda.is_available():
        raise SystemExit("torch_peer: no CUDA device visible to PyTorch (use --device cpu to check the script)")
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32

    if on_gpu:
        def timer():
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            return start.record, lambda: (stop.record(), stop.synchronize(), start.elapsed_time(stop))[2]
        device_name = torch.cuda.get_device_name(device)
    else:
        def timer():
            t = [0.0]

            def begin():
                t[0] = time.perf_counter()
            return begin, lambda: (time.perf_counter() - t[0]) * 1e3
        device_name = ""

    cudnn = torch.backends.cudnn.version() if on_gpu and torch.backends.cudnn.is_available() else None
    report = {
        "schema": "dsconv-bench-1", "tool": "torch_peer", "dsconv_version": "", "torch_version": torch.__version__,
        "cudnn_version": cudnn, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": socket.gethostname(), "cpu": cpu_model(), "device": device_name,
        "commit": args.commit if args.commit is not None else git_commit(),
        "command": " ".join([os.path.basename(sys.argv[0])] + (sys.argv[1:] if argv is None else list(argv))),
        "copy_gbps": None, "copy_note": "",
        "timing": {"warmup": args.warmup, "min_time_s": args.min_time, "min_samples": 3,
                   "max_samples": args.max_iters, "max_time_s": args.max_time, "sample_min_ms": args.sample_ms},
        "peers": [], "notes": [f"PyTorch {torch.__version__}" + (f", cuDNN {cudnn}" if cudnn else "") +
                               f", cudnn.benchmark on, TF32 {'on' if args.tf32 else 'off'}"],
        "rows": [],
    }
    if on_gpu:
        nbytes = 256 << 20
        a = torch.empty(nbytes // 4, dtype=torch.float32, device=device).fill_(1.5)
        b = torch.empty_like(a)
        st = measure(lambda i: b.copy_(a), timer, args)
        report["copy_gbps"] = 2 * nbytes / (st["median_ms"] * 1e-3) / 1e9
        report["copy_note"] = "torch copy_ device to device, 256 MiB, bytes read + written"
        del a, b

    have_dsconv = shutil.which(args.dsconv) is not None
    if args.verify and not have_dsconv:
        report["notes"].append(f"{args.dsconv} not found: results checked against PyTorch float64 only")
    workdir = tempfile.mkdtemp(prefix="torch_peer_")
    failed = False
    t_start = time.perf_counter()
    total = len(problems) * len(variants)
    for pi, p in enumerate(problems):
        for vi, variant in enumerate(variants):
            k = pi * len(variants) + vi
            print(f"[{k + 1}/{total}] {time.perf_counter() - t_start:.1f}s {p.get('suite', '')}/{p.get('layer', '')} "
                  f"{variant}", file=sys.stderr, flush=True)
            row = {"suite": p.get("suite", ""), "layer": p.get("layer", ""), "problem": p["problem"],
                   "backend": variant, "implementation": "", "subject": False, "device": on_gpu,
                   "emulated": False, "measured": False, "error": False, "median_ms": None, "min_ms": None,
                   "max_ms": None, "spread": None, "samples": 0, "runs_per_sample": 0, "gbps": None,
                   "pct_copy": None, "gflops": None, "flops": p["flops"], "min_bytes": p["min_bytes"],
                   "verified": False, "check": "off", "max_rel_err": None, "speedup": {}, "note": ""}
            try:
                sets = int(min(max(math.ceil(args.rotate_mib * 2 ** 20 / max(p["min_bytes"], 1)), 1), 2048))
                peer = Peer(torch, p, variant, device, sets, args.seed + pi)
                groups = "groups=C" if peer.groups > 1 else "dense"
                row["implementation"] = (f"F.conv2d {groups}" + (" + 1x1" if p["op"] == "separable" else "") +
                                         (", channels_last" if variant == "torch-nhwc" else ", NCHW"))
                row["note"] = peer.note
                if args.verify:
                    use_dsconv = have_dsconv and p["flops"] <= args.max_ref_gflop * 1e9
                    if not use_dsconv and p["flops"] > args.max_f64_gflop * 1e9:
                        row["check"] = "skipped"
                    else:
                        ratio, rel, source = peer.check(args.dsconv if use_dsconv else None, workdir)
                        row["max_rel_err"] = rel
                        row["check"] = "pass" if ratio <= 1.0 else "FAIL"
                        row["verified"] = ratio <= 1.0
                        notes = [row["note"]] if row["note"] else []
                        if ratio > 1.0:
                            row["error"] = True
                            notes.append(f"check against {source} FAILED: max error {ratio:.3g}x the bound "
                                         f"(seed {args.seed + pi})")
                        elif not use_dsconv:
                            notes.append(f"checked against {source} (no dsconv reference at this size)")
                        row["note"] = "; ".join(notes)
                if not row["error"]:
                    st = measure(peer.run, timer, args)
                    row.update(st)
                    row["measured"] = True
                    sec = st["median_ms"] * 1e-3
                    row["gbps"] = p["min_bytes"] / sec / 1e9
                    row["gflops"] = p["flops"] / sec / 1e9
                    if report["copy_gbps"]:
                        row["pct_copy"] = 100.0 * row["gbps"] / report["copy_gbps"]
                del peer
            except Exception as e:  # one problem's failure (e.g. out of memory) must not stop the others
                row["error"] = True
                row["note"] = f"{type(e).__name__}: {e}".replace("\n", " ")[:500]
            failed |= row["error"]
            report["rows"].append(row)
            if on_gpu:
                torch.cuda.empty_cache()

    shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(report, indent=1) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
