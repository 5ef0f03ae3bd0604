#!/usr/bin/env python3
"""The issue's L2->SM goal (bytes between L2 and the SMs at most 1.3x the ideal) per depthwise layer of
mobilenet_v2, efficientnet_b0 and mobilenet_v3, and, for every layer over it, the two causes computed from
the tile and the tensor layout alone, set beside the model's count:

- halo: the input positions a tile stages inside the image, summed over the grid's tiles, over the image's
  (each tile stages its (tile - 1) * stride + k rows and columns; neighbours stage the overlap again);
- sectors: 32-byte sectors a 32-channel chunk of a pixel touches, x 32, over its bytes. A pixel of C
  16-bit channels is 2C bytes; when 2C is not a multiple of 32 every other pixel starts mid-sector, and a
  64-byte chunk at a 16-byte offset touches three sectors. The last, partial chunk of a pixel (C not a
  multiple of 32) rounds up to whole sectors too. Loads and stores both pay it.
- filter: every block loads its chunk's K x K taps (the ideal counts the filter once).

predicted = (input bytes x halo x sectors + output bytes x sectors + blocks x filter chunk) / ideal bytes. A model, not a
measurement (dsconv profile, H100, uncalibrated); the rows are the files named on the command line."""
import json
import math
import re
import sys

CHUNK = 32  # kNhwcChannelChunk


def parse(problem):
    m = re.match(r"depthwise_n(\d+)h(\d+)w(\d+)c(\d+)_k(\d+)x(\d+)_m(\d+)_s(\d+)x(\d+)_d(\d+)x(\d+)_p(\w+?)_nhwc_tf_(\w+)",
                 problem)
    n, h, w, c, kh, kw, mult, sh, sw, dh, dw, pad, dt = m.groups()
    return dict(n=int(n), h=int(h), w=int(w), c=int(c), k=int(kh), s=int(sh), d=int(dh), pad=pad,
                es=4 if dt == "f32" else 2)


def out_and_pad(size, k, s, d, pad):
    assert pad == "same"
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return out, total // 2


def staged_inside(size, k, s, tile, pad, out):
    """Input positions one dimension's tiles stage inside [0, size), summed over the tiles."""
    total = 0
    for t in range(-(-out // tile)):
        lo = t * tile * s - pad
        hi = lo + (tile - 1) * s + k
        total += max(0, min(hi, size) - max(lo, 0))
    return total


def sector_factor(c, es):
    """Sectors x 32 over bytes, averaged over the pixels of a row (offsets repeat every 32 pixels)."""
    touched = used = 0
    for px in range(32):
        base = px * c * es
        for c0 in range(0, c, CHUNK):
            b0, b1 = base + c0 * es, base + min(c0 + CHUNK, c) * es
            touched += (math.ceil(b1 / 32) - b0 // 32) * 32
            used += b1 - b0
    return touched / used


def main():
    rows = []
    for path in sys.argv[1:]:
        rows += [(path, r) for r in json.load(open(path)) if r.get("suite") in ("mobilenet_v2", "efficientnet_b0",
                                                                                 "mobilenet_v3")]
    print("| file | layer | implementation | L2 / ideal (model) | halo | sectors | filter | predicted | t_L2 / t_DRAM "
          "| bound | cause |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    over = 0
    for path, r in rows:
        ratio = r["l2_bytes"] / r["ideal_bytes"]
        if ratio <= 1.3:
            continue
        over += 1
        p = parse(r["problem"])
        tm = re.search(r"_tile(\d+)x(\d+)", r["implementation"])
        th, tw = int(tm.group(1)), int(tm.group(2))
        oh, pt = out_and_pad(p["h"], p["k"], p["s"], p["d"], p["pad"])
        ow, pl = out_and_pad(p["w"], p["k"], p["s"], p["d"], p["pad"])
        halo = (staged_inside(p["h"], p["k"], p["s"], th, pt, oh) * staged_inside(p["w"], p["k"], p["s"], tw, pl, ow) /
                (p["h"] * p["w"]))
        sec = sector_factor(p["c"], p["es"])
        inb = p["n"] * p["h"] * p["w"] * p["c"] * p["es"]
        outb = p["n"] * oh * ow * p["c"] * p["es"]
        tiles = p["n"] * -(-oh // th) * -(-ow // tw)
        fbytes = 0
        for c0 in range(0, p["c"], CHUNK):  # taps are [K, K, C]: each tap's chunk, rounded to sectors
            b0, b1 = c0 * p["es"], min(c0 + CHUNK, p["c"]) * p["es"]
            fbytes += (math.ceil(b1 / 32) - b0 // 32) * 32 * p["k"] * p["k"]
        filt = tiles * fbytes / r["ideal_bytes"]
        predicted = (inb * halo * sec + outb * sec) / r["ideal_bytes"] + filt
        cause = []
        if halo * inb / (inb + outb) > 0.15 + inb / (inb + outb):
            cause.append("halo of the %dx%d tile (%dx%d filter, stride %d)" % (th, tw, p["k"], p["k"], p["s"]))
        if sec > 1.01:
            cause.append("pixels of %d B not whole sectors" % (p["c"] * p["es"]) if (p["c"] * p["es"]) % 32 else
                         "partial chunk")
        if filt > 0.05:
            cause.append("filter per block +%.2f" % filt)
        print("| %s | %s/%s | `%s` | %.2f | %.2f | %.2f | +%.2f | %.2f | %.2f | %s | %s |" % (
            path.split("/")[-1].replace(".json", ""), r["suite"], r["layer"], r["implementation"], ratio, halo, sec,
            filt, predicted, r["t_l2_us"] / r["t_dram_us"], r["bound"], "; ".join(cause)))
    print()
    print("%d of %d rows over 1.3x." % (over, len(rows)))


main()
