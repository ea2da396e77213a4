#!/usr/bin/env python3
"""Draws AFF-vs-FAISS throughput ratios from aff_bench JSON as a bar chart in SVG (log scale, no third-party
packages). Usage: plot_ratios.py results.json out.svg"""
import json
import math
import sys


def main(src, dst):
    meta = json.load(open(src))
    rows = meta["rows"]
    left, right, top, bottom, step = 56, 80, 44, 150, 46
    width, height = left + right + step * len(rows), 420
    peak = max(max(r["ratio"] for r in rows), 2.0)
    lo, hi = math.log2(0.5), math.log2(peak * 1.15)
    plot = height - top - bottom

    def y(v):
        return top + plot * (hi - math.log2(v)) / (hi - lo)

    amx = ", AMX screening" if meta.get("amx") else ""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="18" font-size="14">AFF exact search vs FAISS IndexFlat: throughput ratio '
             f'(log scale; {meta["simd"]}{amx}, {meta["threads"]} threads, {meta["metric"]}, {meta["storage"]})</text>']
    level = 0.5
    while level <= peak * 1.15:
        colour = "#c44" if level == 1.0 else "#ccc"
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
                     f'stroke="{colour}"/><text x="{left - 6}" y="{y(level) + 4:.1f}" text-anchor="end">'
                     f'{level:g}x</text>')
        level *= 2
    for i, r in enumerate(rows):
        x = left + 7 + step * i
        ratio = r["ratio"]
        base, tip = y(1.0), y(ratio)
        parts.append(f'<rect x="{x}" y="{min(base, tip):.1f}" width="32" height="{abs(base - tip):.1f}" '
                     f'fill="{"#3a7bd5" if ratio >= 1 else "#d5793a"}"/>')
        parts.append(f'<text x="{x + 16}" y="{min(base, tip) - 4:.1f}" text-anchor="middle">{ratio:.1f}</text>')
        label = f'N={r["n"] // 1000}k d={r["d"]} b={r["batch"]} k={r["k"]}'
        parts.append(f'<text transform="translate({x + 12},{height - bottom + 14}) rotate(55)">{label}</text>')
    parts.append("</svg>")
    open(dst, "w").write("\n".join(parts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
