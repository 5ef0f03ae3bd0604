#!/usr/bin/env python3
"""Writes the golden cases in tests/data/golden/ from TensorFlow, an implementation independent of dsconv.

Each case is a few small float32 .npy files (NumPy's format, little-endian, C order):
  <name>_input.npy, <name>_filter.npy, [<name>_pointwise.npy], [<name>_bias.npy], <name>_expected.npy
in the layouts its dsconv descriptor names, and one line of manifest.tsv:
  <name> TAB <dsconv descriptor> TAB <the TensorFlow computation that produced expected>

Run:  python3 tests/golden/make_golden.py [--out DIR]
Without TensorFlow importable, the script makes a virtual environment ($GOLDEN_VENV, default
/tmp/golden-venv), installs tensorflow-cpu and numpy into it from PyPI, and runs itself there.

Every TensorFlow result is also checked against a plain NumPy convolution written here (TF's padding rules
spelled out), so a surprise in TensorFlow's semantics stops the script instead of landing in the data.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "data", "golden"))
SEED = 20240611


def ensure_tensorflow():
    try:
        import tensorflow  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("DSCONV_GOLDEN_IN_VENV") == "1":
        sys.exit("tensorflow is still not importable inside the virtual environment; giving up")
    venv = os.environ.get("GOLDEN_VENV", "/tmp/golden-venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    subprocess.check_call([python, "-m", "pip", "install", "--quiet", "tensorflow-cpu", "numpy"])
    env = dict(os.environ, DSCONV_GOLDEN_IN_VENV="1", TF_CPP_MIN_LOG_LEVEL="2")
    os.execve(python, [python, os.path.abspath(__file__)] + sys.argv[1:], env)


# ---------------------------------------------------------------------------------------------
# The NumPy cross-check (NHWC, TF filters, f64)
# ---------------------------------------------------------------------------------------------


def same_pads(size, k, s, d):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return out, total // 2, total - total // 2


def numpy_depthwise(x, w, s, d, padding):
    import numpy as np

    n, h, wd, c = x.shape
    kh, kw, _, m = w.shape
    if padding == "SAME":
        oh, pt, pb = same_pads(h, kh, s[0], d[0])
        ow, pl, pr = same_pads(wd, kw, s[1], d[1])
    else:
        pt = pb = pl = pr = 0
        oh = (h - (kh - 1) * d[0] - 1) // s[0] + 1
        ow = (wd - (kw - 1) * d[1] - 1) // s[1] + 1
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    y = np.zeros((n, oh, ow, c, m))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * d[0] : i * d[0] + (oh - 1) * s[0] + 1 : s[0], j * d[1] : j * d[1] + (ow - 1) * s[1] + 1 : s[1], :]
            y += patch[..., None] * w[i, j].astype(np.float64)[None, None, None]
    return y.reshape(n, oh, ow, c * m)


def numpy_conv2d(x, w, s, d, padding):
    import numpy as np

    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    if padding == "SAME":
        oh, pt, pb = same_pads(h, kh, s[0], d[0])
        ow, pl, pr = same_pads(wd, kw, s[1], d[1])
    else:
        pt = pb = pl = pr = 0
        oh = (h - (kh - 1) * d[0] - 1) // s[0] + 1
        ow = (wd - (kw - 1) * d[1] - 1) // s[1] + 1
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    y = np.zeros((n, oh, ow, o))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * d[0] : i * d[0] + (oh - 1) * s[0] + 1 : s[0], j * d[1] : j * d[1] + (ow - 1) * s[1] + 1 : s[1], :]
            y += np.einsum("nhwc,co->nhwo", patch, w[i, j].astype(np.float64))
    return y


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------


def descriptor(op, x_shape, k, m, o, s, d, padding, layout="nhwc", filters="tf", bias=False, act=None):
    n, h, w, c = x_shape
    text = f"{op}_n{n}h{h}w{w}c{c}_k{k[0]}x{k[1]}"
    if op != "conv2d":
        text += f"_m{m}"
    if op != "depthwise":
        text += f"_o{o}"
    text += f"_s{s[0]}x{s[1]}_d{d[0]}x{d[1]}_p{padding.lower()}_{layout}_{filters}_f32"
    if bias:
        text += "_bias"
    if act:
        text += "_" + act
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: tests/data/golden)")
    args = parser.parse_args()
    ensure_tensorflow()

    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(SEED)
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith(".npy") or f == "manifest.tsv":
            os.remove(os.path.join(args.out, f))
    manifest = []

    def data(*shape):
        return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)

    def save(name, desc, source, arrays, expected, check):
        assert np.all(np.isfinite(expected)) and np.any(expected != 0)
        err = np.max(np.abs(expected.astype(np.float64) - check))
        scale = max(1.0, float(np.max(np.abs(check))))
        if err > 1e-4 * scale:
            sys.exit(f"{name}: TensorFlow and the NumPy cross-check differ by {err} ({source})")
        for key, value in arrays.items():
            np.save(os.path.join(args.out, f"{name}_{key}.npy"), np.ascontiguousarray(value, dtype="<f4"))
        np.save(os.path.join(args.out, f"{name}_expected.npy"), np.ascontiguousarray(expected, dtype="<f4"))
        manifest.append(f"{name}\t{desc}\t{source}")

    def depthwise_case(name, x_shape, k, m, s, d, padding):
        x, w = data(*x_shape), data(k[0], k[1], x_shape[3], m)
        y = tf.nn.depthwise_conv2d(x, w, strides=[1, s[0], s[1], 1], padding=padding, dilations=list(d)).numpy()
        src = f"tf.nn.depthwise_conv2d(strides=[1,{s[0]},{s[1]},1], padding='{padding}', dilations={list(d)})"
        save(name, descriptor("depthwise", x_shape, k, m, None, s, d, padding), src, {"input": x, "filter": w}, y,
             numpy_depthwise(x, w, s, d, padding))

    def conv2d_case(name, x_shape, k, o, s, d, padding, atrous=False):
        x, w = data(*x_shape), data(k[0], k[1], x_shape[3], o)
        if atrous:
            assert s == (1, 1) and d[0] == d[1]
            y = tf.nn.atrous_conv2d(x, w, rate=d[0], padding=padding).numpy()
            src = f"tf.nn.atrous_conv2d(rate={d[0]}, padding='{padding}')"
        else:
            y = tf.nn.conv2d(x, w, strides=[1, s[0], s[1], 1], padding=padding, dilations=[1, d[0], d[1], 1]).numpy()
            src = f"tf.nn.conv2d(strides=[1,{s[0]},{s[1]},1], padding='{padding}', dilations=[1,{d[0]},{d[1]},1])"
        save(name, descriptor("conv2d", x_shape, k, None, o, s, d, padding), src, {"input": x, "filter": w}, y,
             numpy_conv2d(x, w, s, d, padding))

    # tf.nn.depthwise_conv2d: multiplier 1 and 2, SAME and VALID, strides 1 and 2, odd sizes.
    depthwise_case("dw_m1_same_s1", (1, 9, 7, 3), (3, 3), 1, (1, 1), (1, 1), "SAME")
    depthwise_case("dw_m2_valid_s1", (2, 8, 9, 4), (3, 3), 2, (1, 1), (1, 1), "VALID")
    depthwise_case("dw_m1_same_s2_odd", (1, 13, 11, 5), (3, 3), 1, (2, 2), (1, 1), "SAME")
    depthwise_case("dw_m2_same_s2_even", (1, 12, 10, 3), (5, 5), 2, (2, 2), (1, 1), "SAME")
    depthwise_case("dw_m2_valid_s2", (2, 11, 9, 4), (3, 3), 2, (2, 2), (1, 1), "VALID")
    depthwise_case("dw_m1_same_k5x3", (1, 10, 13, 6), (5, 3), 1, (1, 1), (1, 1), "SAME")
    # Dilation (rate) through depthwise_conv2d's dilations (TF allows rate > 1 only with stride 1).
    depthwise_case("dw_m1_same_rate2", (1, 11, 12, 4), (3, 3), 1, (1, 1), (2, 2), "SAME")
    depthwise_case("dw_m2_valid_rate2x3", (1, 13, 14, 3), (3, 3), 2, (1, 1), (2, 3), "VALID")

    # tf.nn.atrous_conv2d: rate 2 and 3.
    conv2d_case("atrous_rate2_same", (1, 12, 11, 4), (3, 3), 5, (1, 1), (2, 2), "SAME", atrous=True)
    conv2d_case("atrous_rate3_valid", (2, 13, 13, 3), (3, 3), 4, (1, 1), (3, 3), "VALID", atrous=True)
    conv2d_case("atrous_rate3_same_k2", (1, 9, 10, 2), (2, 2), 3, (1, 1), (3, 3), "SAME", atrous=True)
    # tf.nn.conv2d with dilations, with stride 2, and with both; SAME.
    conv2d_case("conv_dil2_same", (1, 10, 9, 5), (3, 3), 6, (1, 1), (2, 2), "SAME")
    conv2d_case("conv_s2_same_odd", (2, 11, 13, 4), (3, 3), 6, (2, 2), (1, 1), "SAME")
    conv2d_case("conv_s2_dil2_same", (1, 13, 12, 3), (3, 3), 4, (2, 2), (2, 2), "SAME")
    conv2d_case("conv_s2x1_dil1x2_same", (1, 9, 11, 3), (3, 5), 4, (2, 1), (1, 2), "SAME")

    # tf.nn.separable_conv2d.
    def separable_case(name, x_shape, k, m, o, s, d, padding):
        x, dw, pw = data(*x_shape), data(k[0], k[1], x_shape[3], m), data(1, 1, x_shape[3] * m, o)
        y = tf.nn.separable_conv2d(x, dw, pw, strides=[1, s[0], s[1], 1], padding=padding, dilations=list(d)).numpy()
        src = f"tf.nn.separable_conv2d(strides=[1,{s[0]},{s[1]},1], padding='{padding}', dilations={list(d)})"
        check = np.einsum("nhwk,ko->nhwo", numpy_depthwise(x, dw, s, d, padding), pw[0, 0].astype(np.float64))
        save(name, descriptor("separable", x_shape, k, m, o, s, d, padding), src,
             {"input": x, "filter": dw, "pointwise": pw}, y, check)

    separable_case("sep_m1_same_s1", (1, 9, 9, 4), (3, 3), 1, 6, (1, 1), (1, 1), "SAME")
    separable_case("sep_m2_same_s2", (2, 11, 10, 3), (3, 3), 2, 5, (2, 2), (1, 1), "SAME")
    separable_case("sep_m2_valid_rate2", (1, 12, 13, 3), (3, 3), 2, 4, (1, 1), (2, 2), "VALID")

    # Bias + relu6 fused, on a depthwise SAME stride-2 layer (MobileNet's shape of block).
    x, w, b = data(1, 13, 13, 8) * 4, data(3, 3, 8, 1) * 2, data(8)
    y = tf.nn.relu6(tf.nn.bias_add(tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME"), b)).numpy()
    check = np.clip(numpy_depthwise(x, w, (2, 2), (1, 1), "SAME") + b.astype(np.float64), 0.0, 6.0)
    assert np.any(y == 6.0) and np.any(y == 0.0) and np.any((y > 0) & (y < 6)), "relu6 case should clip both ways"
    save("dw_bias_relu6", descriptor("depthwise", x.shape, (3, 3), 1, None, (2, 2), (1, 1), "SAME", bias=True,
                                     act="relu6"),
         "tf.nn.relu6(tf.nn.bias_add(tf.nn.depthwise_conv2d(strides=[1,2,2,1], padding='SAME'), b))",
         {"input": x, "filter": w, "bias": b}, y, check)

    # The same TensorFlow computations, stored in NCHW with PyTorch/ONNX (OIHW) filters: transposed here.
    x, w, b = data(1, 11, 9, 3), data(3, 3, 3, 2), data(6)
    y = tf.nn.relu(tf.nn.bias_add(tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME"), b)).numpy()
    check = np.maximum(numpy_depthwise(x, w, (2, 2), (1, 1), "SAME") + b.astype(np.float64), 0.0)
    w_oihw = w.transpose(2, 3, 0, 1).reshape(3 * 2, 1, 3, 3)  # [C,M,KH,KW] -> [C*M,1,KH,KW], o = c*M + m
    save("dw_m2_same_s2_nchw_oihw_bias_relu",
         descriptor("depthwise", x.shape, (3, 3), 2, None, (2, 2), (1, 1), "SAME", "nchw", "oihw", True, "relu"),
         "tf.nn.relu(tf.nn.bias_add(tf.nn.depthwise_conv2d(strides=[1,2,2,1], padding='SAME'), b)), "
         "stored NCHW/OIHW", {"input": x.transpose(0, 3, 1, 2), "filter": w_oihw, "bias": b},
         y.transpose(0, 3, 1, 2), check.transpose(0, 3, 1, 2))

    x, w = data(1, 10, 11, 4), data(3, 3, 4, 5)
    y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME", dilations=[1, 2, 2, 1]).numpy()
    check = numpy_conv2d(x, w, (1, 1), (2, 2), "SAME")
    save("conv_dil2_same_nchw_oihw", descriptor("conv2d", x.shape, (3, 3), None, 5, (1, 1), (2, 2), "SAME", "nchw",
                                                "oihw"),
         "tf.nn.conv2d(strides=[1,1,1,1], padding='SAME', dilations=[1,2,2,1]), stored NCHW/OIHW",
         {"input": x.transpose(0, 3, 1, 2), "filter": w.transpose(3, 2, 0, 1)}, y.transpose(0, 3, 1, 2),
         check.transpose(0, 3, 1, 2))

    x, dw, pw = data(1, 9, 10, 3), data(3, 3, 3, 2), data(1, 1, 6, 4)
    y = tf.nn.separable_conv2d(x, dw, pw, strides=[1, 2, 2, 1], padding="SAME").numpy()
    check = np.einsum("nhwk,ko->nhwo", numpy_depthwise(x, dw, (2, 2), (1, 1), "SAME"), pw[0, 0].astype(np.float64))
    save("sep_m2_same_s2_nchw_oihw", descriptor("separable", x.shape, (3, 3), 2, 4, (2, 2), (1, 1), "SAME", "nchw",
                                                "oihw"),
         "tf.nn.separable_conv2d(strides=[1,2,2,1], padding='SAME'), stored NCHW/OIHW",
         {"input": x.transpose(0, 3, 1, 2), "filter": dw.transpose(2, 3, 0, 1).reshape(6, 1, 3, 3),
          "pointwise": pw.transpose(3, 2, 0, 1)}, y.transpose(0, 3, 1, 2), check.transpose(0, 3, 1, 2))

    with open(os.path.join(args.out, "manifest.tsv"), "w") as f:
        f.write(f"# Golden cases from TensorFlow {tf.__version__} (tests/golden/make_golden.py, seed {SEED}).\n")
        f.write("# name\tdsconv descriptor\tTensorFlow computation\n")
        for line in manifest:
            f.write(line + "\n")
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {len(manifest)} cases, {total} bytes, to {args.out}")


if __name__ == "__main__":
    main()
