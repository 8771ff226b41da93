#!/usr/bin/python3
"""Draw the error curves of the wide-interval sigmoid approximations (docs/circuits.md, section 5).

    /usr/bin/python3 scripts/plot_sigmoid_error.py

Needs Debian's python3-matplotlib (not installed by scripts/install-deps.sh: only for redrawing). Reads
docs/measurements/sigmoid_error_curves.csv (columns interval, label, x, error: p(x) - sigma(x) in
double precision at 2001 points of [-L, L] per candidate) and writes docs/img/sigmoid_wide_error.png:
one panel per interval, |error| on a log scale, the 2^-10 bar drawn across. The last curve of each panel is what
approx_choose returns for max_error = 2^-10 within depth 10.
"""
import csv
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "docs", "measurements", "sigmoid_error_curves.csv")
TARGET = os.path.join(ROOT, "docs", "img", "sigmoid_wide_error.png")


def main():
    if not os.path.exists(SOURCE):
        sys.exit(f"plot_sigmoid_error: {SOURCE} is missing; write it first (docs/circuits.md, section 5)")
    curves = {}  # interval -> label -> ([x], [|error|])
    with open(SOURCE, newline="") as f:
        for row in csv.DictReader(f):
            xs, es = curves.setdefault(float(row["interval"]), {}).setdefault(row["label"], ([], []))
            xs.append(float(row["x"]))
            es.append(max(abs(float(row["error"])), 1e-18))  # log axis: exact zeros drawn at 1e-18
    intervals = sorted(curves)
    fig, axes = plt.subplots(len(intervals), 1, figsize=(7.5, 3.2 * len(intervals)), sharey=True)
    if len(intervals) == 1:
        axes = [axes]
    for ax, L in zip(axes, intervals):
        for label, (xs, es) in curves[L].items():
            ax.plot(xs, es, linewidth=0.9, label=label)
        ax.axhline(2.0**-10, color="black", linestyle="--", linewidth=0.8, label="$2^{-10}$")
        ax.set_yscale("log")
        ax.set_ylim(1e-17, 1)
        ax.set_xlim(-L, L)
        ax.set_title(f"$\\sigma(x)$ on [{-L:g}, {L:g}]: |p(x) $-$ $\\sigma$(x)| in double precision")
        ax.set_xlabel("x")
        ax.set_ylabel("absolute error")
        ax.legend(fontsize=7, loc="lower center", ncol=3)
    fig.tight_layout()
    fig.savefig(TARGET, dpi=90)
    print(f"plot_sigmoid_error: wrote {os.path.relpath(TARGET, ROOT)} ({math.fsum(len(c) for c in curves.values()):g} curves)")


if __name__ == "__main__":
    main()
