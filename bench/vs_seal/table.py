#!/usr/bin/env python3
"""The ours-vs-SEAL table from bench_vs_seal's JSON output (--benchmark_out=FILE
--benchmark_out_format=json, run with --benchmark_repetitions=3 --benchmark_report_aggregates_only=true).

Prints one Markdown row per operation and set: the medians in ms (µs for the NTT rows), ours / SEAL
on CPU time at one thread, and ours at two threads (real time) / SEAL (real time; SEAL is single-
threaded). Usage: bench/vs_seal/table.py run.json
"""
import json
import sys

SETS = [("A", "logN=13/L=2"), ("B", "logN=14/L=6"), ("C", "logN=15/L=18")]
OPS = [("encode", "encode"), ("decode", "decode"), ("encrypt (public key)", "encrypt_pk"),
       ("decrypt", "decrypt"), ("add", "add"), ("multiply by plaintext", "multiply_plain"),
       ("multiply ciphertexts (no relin)", "multiply"), ("relinearize", "relinearize"),
       ("multiply + relinearize", "multiply_relin"), ("rescale", "rescale"), ("rotate one step", "rotate")]
NTT = [("NTT forward, one limb (40-bit prime)", "forward", 40), ("NTT inverse, one limb (40-bit prime)", "inverse", 40),
       ("NTT forward, one limb (60-bit prime)", "forward", 60), ("NTT inverse, one limb (60-bit prime)", "inverse", 60)]


def medians(path):
    """{run_name: (real_time, cpu_time)} of the median aggregates, in each benchmark's own unit."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") == "median":
            # set C's key-switching rows end in "/iterations:5": key them without it
            name = b["run_name"].replace("/iterations:5", "")
            out[name] = (b["real_time"], b["cpu_time"])
    return data["context"], out


def fmt(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def row(label, cells):
    return "| " + label + " | " + " | ".join(cells) + " |"


def main():
    context, m = medians(sys.argv[1])
    print(f"date {context['date']}, load average {context.get('load_avg')}")
    head = ["op"]
    for s, _ in SETS:
        head += [f"{s} ours", f"{s} SEAL", "ratio", "2 thr. ratio"]
    print(row(head[0], head[1:]))
    print("|---|" + "---:|" * (len(head) - 1))
    for label, op in OPS:
        cells = []
        for _, suffix in SETS:
            base = f"{op}/{suffix}"
            ours, seal = m.get(base + "/ours"), m.get(base + "/SEAL")
            two = m.get(base + "/ours/threads=2/process_time")
            if not (ours and seal and two):
                cells += ["–"] * 4
                continue
            cells += [fmt(ours[1]), fmt(seal[1]), f"{ours[1] / seal[1]:.2f}", f"{two[0] / seal[0]:.2f}"]
        print(row(label, cells))
    print()
    head = ["op (µs)"]
    for s, _ in SETS:
        head += [f"{s} ours", f"{s} SEAL", "ratio", "SEAL lazy", "ratio to lazy"]
    print(row(head[0], head[1:]))
    print("|---|" + "---:|" * (len(head) - 1))
    for label, direction, bits in NTT:
        cells = []
        for ln in (13, 14, 15):
            base = f"NTT/{direction}/logN={ln}/bits={bits}"
            ours, seal, lazy = m.get(base + "/ours"), m.get(base + "/SEAL"), m.get(base + "/SEAL_lazy")
            if not (ours and seal and lazy):
                cells += ["–"] * 5
                continue
            cells += [fmt(ours[1]), fmt(seal[1]), f"{ours[1] / seal[1]:.2f}", fmt(lazy[1]), f"{ours[1] / lazy[1]:.2f}"]
        print(row(label, cells))


if __name__ == "__main__":
    main()
