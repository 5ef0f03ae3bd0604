#!/usr/bin/env python3
"""Prints this folder's tables (markdown) from its JSON files: the chosen warp tile per RepLKNet layer
against the FMA kernel, every tile forced, and the share of the f16 tensor peak in useful products."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
PEAK_TFLOPS = 989.0  # H100 SXM5 dense f16 tensor (cuda/emu/model/cards.cpp)


def load(name):
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        return {}
    rows = json.load(open(path))
    return {r["layer"]: r for r in rows if "modelled_us" in r}


def useful_flops(problem):
    # depthwise_n{N}h{H}w{W}c{C}_k{KH}x{KW}_..._psame: SAME, stride 1, so the output is H x W.
    f = dict()
    head, k = problem.split("_")[1], problem.split("_")[2]
    for key in "nhwc":
        head = head.replace(key, " " + key)
    for part in head.split():
        f[part[0]] = int(part[1:])
    kh, kw = (int(x) for x in k[1:].split("x"))
    return 2.0 * f["n"] * f["h"] * f["w"] * f["c"] * kh * kw


def main():
    layers = ["stage1_dw31x31", "stage2_dw29x29", "stage3_dw27x27", "stage4_dw13x13"]
    tiles = ["16x64", "16x32", "16x16", "8x16"]
    for n in (1, 32):
        mma, fma = load(f"mma_n{n}.json"), load(f"generic_n{n}.json")
        forced = {t: load(f"tiles_n{n}_{t}.json") for t in tiles}
        print(f"\nN={n}\n")
        print("| layer | chosen tile | µs | % f16 peak (useful) | FMA kernel µs | ratio | " +
              " | ".join(f"{t} µs" for t in tiles) + " |")
        print("|---|---|---:|---:|---:|---:|" + "---:|" * len(tiles))
        for layer in layers:
            m, g = mma.get(layer), fma.get(layer)
            cells = [layer.replace("_dw", " ", 1)]
            if m:
                us = m["modelled_us"]
                pct = useful_flops(m["problem"]) / (us * 1e-6) / (PEAK_TFLOPS * 1e12) * 100
                cells += [m["implementation"].rsplit("_tile", 1)[1], f"{us:.2f}", f"{pct:.0f}%"]
            else:
                cells += ["(declined)", "-", "-"]
            cells.append(f"{g['modelled_us']:.2f}" if g else "-")
            cells.append(f"{g['modelled_us'] / m['modelled_us']:.1f}x" if (m and g) else "-")
            for t in tiles:
                r = forced[t].get(layer)
                cells.append(f"{r['modelled_us']:.2f}" if r else "(declined)")
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
