#!/usr/bin/env python3
"""Writes the hand-made seed corpora of the fuzz targets into fuzz/corpus/<target>/seed-*.

The binary seeds follow the byte layouts the targets read (fuzz_problem_desc.cpp, fuzz_c_api.cpp), so
that the fuzzers start from inputs that reach deep into each target. Inputs the fuzzers found later
(regression-*, and min-* from merged long runs) are committed beside the seeds and left alone here.

    python3 fuzz/make_seeds.py
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


# --- descriptor --------------------------------------------------------------------------------
DESCRIPTORS = [
    "depthwise_n32h112w112c32_k3x3_m1_s1x1_d1x1_psame_nhwc_tf_f16",
    "conv2d_n1h33w33c2048_k3x3_o256_s1x1_d6x6_psame_nhwc_tf_f32_bias_relu",
    "separable_n2h13w11c17_k5x5_m2_o8_s2x2_d1x1_pt1b2l0r3_nchw_oihw_bf16",
    "depthwise_n1h8w8c4_k3x3",
    "depthwise_n2h9w7c5_k3x3_m2_psame_bias_relu_res",
    "depthwise n1 h112 w112 c32 k3x3 m1 s1x1 d1x1 psame nhwc tf f32",
    "depthwise_n1h5w5c2_k3_s2_d2_pvalid_gelutanh",
    "depthwise_n1h4w4c2_k3x3_bwdd",
    "conv2d_n1h4w4c2_k5x5_o2",
    "depthwise_n1h4w4c2_k3x3_q9",
    "depthwise_n1h4w4c2_k3x3_m2x3",
    "depthwise_n999999999999999999h1w1c1_k1x1",
    "depthwise_n1h4294967296w4294967296c4_k3x3_s16384x16384_psame_f16",
    "depthwise_n1h1w1c1_k1x1_pt9223372036854775807b0l0r0",
    "",
    "_",
]
for i, d in enumerate(DESCRIPTORS):
    write("descriptor", "%02d" % i, d)

# --- problem_desc: 7 enum bytes (value v as byte v+1), 16 size bytes, a flags byte ----------------
def desc_bytes(op=0, padding=0, layout=0, filter_layout=0, dtype=0, activation=0, direction=0,
               sizes=(1, 4, 4, 2, 3, 3, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0), flags=0, raw=None):
    b = bytes([op + 1, padding + 1, layout + 1, filter_layout + 1, dtype + 1, activation + 1, direction + 1])
    for i, s in enumerate(sizes):
        if raw is not None and i in raw:
            b += bytes([0xC0]) + struct.pack("<q", raw[i])
        else:
            b += bytes([s])
    return b + bytes([flags])

# batch h w c kh kw m o sh sw dh dw pt pb pl pr
write("problem_desc", "depthwise", desc_bytes())
write("problem_desc", "depthwise_same_bias", desc_bytes(padding=1, activation=2, sizes=(2, 9, 7, 5, 3, 3, 2, 0, 2, 1, 1, 2, 0, 0, 0, 0), flags=1))
write("problem_desc", "conv2d_explicit", desc_bytes(op=1, padding=2, layout=1, filter_layout=1, sizes=(1, 6, 5, 3, 2, 3, 1, 4, 1, 2, 2, 1, 1, 2, 0, 3)))
write("problem_desc", "separable_res", desc_bytes(op=2, padding=1, dtype=1, activation=3, sizes=(1, 5, 5, 2, 3, 3, 2, 3, 1, 1, 1, 1, 0, 0, 0, 0), flags=3))
write("problem_desc", "huge_stride", desc_bytes(padding=1, dtype=1, raw={1: 1 << 32, 2: 1 << 32, 8: 1 << 31, 9: 1 << 31}))
write("problem_desc", "int64_edges", desc_bytes(padding=2, raw={0: 2**62, 12: 2**63 - 1, 8: 2**62}))
write("problem_desc", "bad_enum", desc_bytes(op=3, dtype=3))

# --- npy --------------------------------------------------------------------------------------------
def npy(header_dict, data, major=1):
    header = header_dict.encode()
    pad = (64 - (10 + len(header) + 1) % 64) % 64
    header += b" " * pad + b"\n"
    if major == 1:
        prefix = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header))
    else:
        prefix = b"\x93NUMPY" + bytes([major, 0]) + struct.pack("<I", len(header))
    return prefix + header + data

f4 = struct.pack("<8f", *[1, -2, 3.5, 0, 1e-3, -7, 2, 9])
write("npy", "f4_2x4", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", f4))
write("npy", "f2_v2", npy("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", struct.pack("<3H", 0x3C00, 0xBC00, 0x7C00), 2))
write("npy", "f4_v3_scalar", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", struct.pack("<f", 5), 3))
write("npy", "f4_empty", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", b""))
write("npy", "fortran", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", f4[:8]))
write("npy", "f8", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8))
write("npy", "truncated", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", f4))
write("npy", "long_suffix", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }", f4[:8]))
write("npy", "huge_shape", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", b""))
golden = os.path.join(ROOT, "tests", "data", "golden", "dw_bias_relu6_input.npy")
if os.path.exists(golden):
    shutil.copyfile(golden, os.path.join(HERE, "corpus", "npy", "seed-golden_dw_bias_relu6_input.npy"))

# --- auto_rule --------------------------------------------------------------------------------------
with open(os.path.join(ROOT, "bench", "data", "auto_rule.json")) as f:
    write("auto_rule", "builtin.json", f.read())
entry = {
    "prefer": "cudnn",
    "match": {"op": ["conv2d", "separable"], "dtype": "f16", "kernel": [[3, 3]], "stride": [[1, 1], [2, 2]],
              "multiplier": [1], "dilation_min": 2, "channels_min": 64, "spatial_max": 4096, "has_bias": True},
    "evidence": {"card": "H100", "date": "2026-01-01", "commit": "abc", "results": "bench/results/x",
                 "command": "dsconv bench", "speedup": 1.4, "cases": 12},
    "comment": "a measured entry",
}
rule = {"format": "dsconv-auto-rule", "version": 1, "description": "fuzz seed", "default_order": ["cuda", "cudnn"],
        "entries": [entry, {"prefer": "cuda", "match": {}, "evidence": {"card": "H200"}}]}
write("auto_rule", "entries.json", json.dumps(rule, indent=1))
write("auto_rule", "duplicate_key.json", '{"format": "dsconv-auto-rule", "format": "x"}')
write("auto_rule", "deep.json", "[" * 70 + "]" * 70)
write("auto_rule", "bad_number.json", '{"format": "dsconv-auto-rule", "version": 1, "default_order": [], "entries": [{"prefer": "cuda", "match": {"kernel_max": 1e400}, "evidence": {"card": "x"}}]}')
write("auto_rule", "no_card.json", '{"format": "dsconv-auto-rule", "version": 1, "default_order": ["cudnn"], "entries": [{"prefer": "cudnn", "match": {"op": []}, "evidence": {}}]}')

# --- c_api: programs for fuzz_c_api.cpp ---------------------------------------------------------------
def create_problem(slot, op=0, n=1, h=4, w=4, c=2, kh=3, kw=3, m=1, o=0, sh=1, sw=0, dh=0, dw=0, pad=0,
                   pads=(0, 0, 0, 0), layout=0, flayout=0, dtype=0, flags=0):
    # sizes are stored minus their offset in the harness (batch 1+, h 1+, ...)
    return bytes([0, slot, op, n - 1, h - 1, w - 1, c - 1, kh - 1, kw - 1, m - 1, o, sh, sw, dh, dw, pad,
                  *pads, layout, flayout, dtype, flags, 0])

def create_plan(slot, problem_slot, backend=0, options=0, prefixes=(0, 0, 0, 0, 0, 0), deterministic=0):
    b = bytes([4, slot, problem_slot, backend, options])
    if options & 1:
        b += bytes(prefixes) + bytes([deterministic])
    return b

def run(plan_slot, by_slots, passes=(0,) * 9, ws=0, order=0):
    b = bytes([7, 1 if by_slots else 0, plan_slot, *passes, ws])
    if by_slots:
        b += bytes([order])
    return b

write("c_api", "create_run_destroy", create_problem(0) + create_plan(0, 0) + run(0, False) + run(0, True) +
      bytes([5, 0, 2, 0]))
write("c_api", "bias_relu_residual", create_problem(1, op=0, m=2, flags=1 | 2 | (1 << 2), pad=1) +
      create_plan(2, 1, backend=1) + run(2, True, order=1) + run(2, True, passes=(0, 0, 1, 0, 162, 0, 0, 0, 0)))
write("c_api", "separable_f16", create_problem(2, op=2, m=2, o=3, dtype=1, pad=1) + create_plan(1, 2) + run(1, False))
write("c_api", "stale_handles", create_problem(0) + create_plan(0, 0) + bytes([5, 0]) + bytes([6, 0, 0]) +
      bytes([2, 0]) + bytes([3, 0, 1]) + run(0, False))
write("c_api", "foreign_and_cross_kind", create_problem(0) + create_plan(0, 0) + bytes([9, 0]) + bytes([6, 7, 1]) +
      bytes([3, 5, 1]) + bytes([9, 1] + [0x42] * 80) + bytes([6, 15, 2]))
write("c_api", "options", create_problem(0) + create_plan(0, 0, backend=0, options=0x03 | 0x08, prefixes=(0, 1, 2, 3, 4, 5), deterministic=1) +
      create_plan(1, 0, backend=5) + create_plan(2, 0, backend=7, options=0x21 | 0x02))
write("c_api", "misuse_runs", create_problem(0, flags=1) + create_plan(0, 0) +
      run(0, True, passes=(161, 0, 0, 0, 0, 0, 0, 0, 0)) + run(0, True, passes=(162, 0, 0, 0, 0, 0, 0, 0, 0)) +
      run(0, False, passes=(0, 0, 0, 163, 0, 0, 0, 0, 0)) + run(0, True, passes=(0, 164, 0, 0, 0, 0, 0, 0, 0), order=0xf3))
write("c_api", "parse", bytes([1, 3, 40]) + b"conv2d_n1h3w3c2_k2x2_o2_bias_relu_f16____" + create_plan(3, 3) + run(3, True))
print("seeds written under", os.path.join(HERE, "corpus"))
