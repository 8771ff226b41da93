#!/usr/bin/python3
"""Draw the plots of docs/ from the project's own measurements.

    build/ckks/ckks-measure --out docs/measurements      # the CSV files (C++, this project)
    /usr/bin/python3 scripts/plot_measurements.py         # docs/img/*.png (matplotlib)

Needs Debian's python3-matplotlib (not installed by scripts/install-deps.sh: only for redrawing).
Reads docs/measurements/{precision_depth,noise_ops,runtime_n}.csv and writes
docs/img/{precision_vs_depth,noise_per_operation,runtime_vs_n}.png.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAS = os.path.join(ROOT, "docs", "measurements")
IMG = os.path.join(ROOT, "docs", "img")


def rows(name):
    path = os.path.join(MEAS, name)
    if not os.path.exists(path):
        sys.exit(f"plot_measurements: {path} is missing; run build/ckks/ckks-measure --out docs/measurements first")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def precision_vs_depth():
    data = rows("precision_depth.csv")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for s in sorted({int(r["log_scale"]) for r in data}):
        pts = [(int(r["depth"]), float(r["bits"])) for r in data if int(r["log_scale"]) == s]
        ax.plot([d for d, _ in pts], [b for _, b in pts], marker="o", label=f"scale $2^{{{s}}}$")
    ax.set_xlabel("multiplicative depth (multiply + relinearise + rescale)")
    ax.set_ylabel("precision (bits, worst of 16384 slots)")
    ax.set_title("Precision versus depth, N = $2^{15}$")
    ax.grid(alpha=0.3)
    lo = min(float(r["bits"]) for r in data)
    hi = max(float(r["bits"]) for r in data)
    ax.set_ylim(lo - 2, hi + 6)  # room above the curves for the legend
    ax.legend(loc="upper center", ncol=3)
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, "precision_vs_depth.png"), dpi=110)


def noise_per_operation():
    data = rows("noise_ops.csv")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    names = [r["operation"] for r in data]
    noise = [float(r["log2_error_times_scale"]) for r in data]
    ax.barh(names[::-1], noise[::-1], color="tab:red")
    for i, v in enumerate(noise[::-1]):
        ax.text(v + 0.2, i, f"{v:.1f}", va="center", fontsize=8)
    ax.set_xlabel("noise: $\\log_2$(max slot error $\\cdot\\,\\Delta$), bits")
    ax.set_title("Noise after each operation (preset n14, $\\Delta = 2^{40}$)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, "noise_per_operation.png"), dpi=110)


def runtime_vs_n():
    data = rows("runtime_n.csv")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for op in dict.fromkeys(r["operation"] for r in data):
        pts = [(int(r["log_n"]), float(r["ms"])) for r in data if r["operation"] == op]
        ax.plot([2 ** n for n, _ in pts], [t for _, t in pts], marker="o", label=op)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("ring degree N (q = {60, 40, 40}, p = {60}; N = $2^{12}$ insecure)")
    ax.set_ylabel("milliseconds (median of 5, one thread)")
    ax.set_title("Runtime versus N")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, "runtime_vs_n.png"), dpi=110)


if __name__ == "__main__":
    os.makedirs(IMG, exist_ok=True)
    precision_vs_depth()
    noise_per_operation()
    runtime_vs_n()
    print(f"plot_measurements: wrote {IMG}/{{precision_vs_depth,noise_per_operation,runtime_vs_n}}.png")
