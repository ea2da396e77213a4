#!/usr/bin/env python3
"""Draws the GPU comparison (torch_reference.py's JSON) as a bar chart in SVG: our kernels' speed-up over PyTorch
on the same card, log scale, no third-party packages. Usage: plot_speedups.py comparison.json out.svg"""
import json
import math
import sys


def label(r):
    if r["kernel"] == "search":
        return r["case"].replace("N=", "").replace(" d=", "x").replace(" batch=", " b").replace(" k=", " k")
    if r["kernel"] == "mixer":
        return f"mixer {r['precision']} b{r['batch']}"
    return r["kernel"].replace("_", " ")


def main(src, dst):
    meta = json.load(open(src))
    rows = meta["rows"]
    left, right, top, bottom, step = 56, 30, 56, 170, 40
    width, height = left + right + step * len(rows), 440
    peak = max(max(r["speedup"] for r in rows), 4.0)
    lo, hi = math.log2(0.25), math.log2(peak * 1.15)
    plot = height - top - bottom

    def y(v):
        return top + plot * (hi - math.log2(v)) / (hi - lo)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="18" font-size="14">AFF CUDA kernels vs PyTorch on one {meta["device"]}</text>',
             f'<text x="{left}" y="36">speed-up, log scale; PyTorch {meta["torch"]}; medians of CUDA-event '
             f'timings</text>']
    level = 0.25
    while level <= peak * 1.15:
        colour = "#c44" if level == 1.0 else "#ccc"
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
                     f'stroke="{colour}"/><text x="{left - 6}" y="{y(level) + 4:.1f}" text-anchor="end">'
                     f'{level:g}x</text>')
        level *= 2
    colours = {"search": "#3a7", "mixer": "#37a", "gem_whiten": "#a73", "select_local": "#a73"}
    for i, r in enumerate(rows):
        x = left + 8 + i * step
        top_y, base = y(max(r["speedup"], 0.25)), y(1.0)
        y0, h = min(top_y, base), abs(base - top_y)
        parts.append(f'<rect x="{x}" y="{y0:.1f}" width="{step - 14}" height="{h:.1f}" '
                     f'fill="{colours.get(r["kernel"], "#777")}"/>')
        parts.append(f'<text x="{x + (step - 14) / 2:.1f}" y="{min(top_y, base) - 4:.1f}" text-anchor="middle">'
                     f'{r["speedup"]:.2f}</text>')
        lx, ly = x + (step - 14) / 2, height - bottom + 12
        parts.append(f'<text x="{lx:.1f}" y="{ly}" transform="rotate(50 {lx:.1f} {ly})">{label(r)}</text>')
    parts.append("</svg>")
    open(dst, "w").write("\n".join(parts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
