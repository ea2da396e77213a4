#!/usr/bin/env python3
"""Draws AFF-vs-FAISS throughput ratios from aff_bench JSON as a bar chart in SVG (no third-party packages)."""
import json
import sys


def main(src, dst):
    meta = json.load(open(src))
    rows = meta["rows"]
    width, height, left, bottom, top = 60 + 46 * len(rows), 360, 50, 90, 20
    peak = max(max(r["ratio"] for r in rows), 1.6)
    scale = (height - bottom - top) / peak

    def y(v):
        return height - bottom - v * scale

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="14" font-size="13">AFF exact search / FAISS IndexFlat, queries per second '
             f'({meta["simd"]}{", AMX" if meta.get("amx") else ""}, {meta["threads"]} threads)</text>']
    for level, colour in ((1.0, "#888"), (1.5, "#c44")):
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(level)}" y2="{y(level)}" stroke="{colour}" '
                     f'stroke-dasharray="4 3"/><text x="4" y="{y(level) + 4}">{level:.1f}x</text>')
    for i, r in enumerate(rows):
        x = left + 8 + 46 * i
        ratio = r["ratio"]
        parts.append(f'<rect x="{x}" y="{y(ratio)}" width="32" height="{ratio * scale}" fill="#3a7bd5"/>')
        parts.append(f'<text x="{x + 16}" y="{y(ratio) - 3}" text-anchor="middle">{ratio:.1f}</text>')
        label = f'N{r["n"] // 1000}k d{r["d"]} b{r["batch"]} k{r["k"]}'
        parts.append(f'<text transform="translate({x + 20},{height - bottom + 8}) rotate(60)">{label}</text>')
    parts.append("</svg>")
    open(dst, "w").write("\n".join(parts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
