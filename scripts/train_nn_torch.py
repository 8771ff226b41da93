#!/usr/bin/python3
"""The network of `ckks-ml nn-train` trained by PyTorch with the exact sigmoid.

Reads the file written by `ckks-ml nn-train ... --export DATA.json` (training and test rows with
the bias column last, labels, the initial weights W1 (H x D) and W2 (C x (H+1)), the fixed batches,
the step eta, the momentum gamma, the weight decay lambda, the step decay rho and the iteration
count) and runs the SAME algorithm as ml/nn/nn_plain.h -- same initialisation, batches, step
schedule, weight decay and Nesterov look-ahead
    eta_t = eta / (1 + rho t),  V = W + gamma (W - W_prev),  W_prev = W,
    W = (1 - eta_t lambda) V - (eta_t / b) * grad BCE(V)
(the C++ twin's E = (O - Y)/2 with step 2 eta_t / b is the same step) -- but with the exact
sigmoid in both layers and the gradient from torch.autograd of the binary cross-entropy with
logits (summed over the batch and the classes). Prints the test accuracy and writes it as JSON
({"accuracy": ...}) to --out, which `ckks-ml nn-train` reads as its `torch.accuracy`.

Debian: apt-get install python3-torch. Usage:
    ckks-ml nn-train --export nn_data.json --plaintext-only
    /usr/bin/python3 scripts/train_nn_torch.py nn_data.json --out nn_torch_digits.json
"""
import argparse
import json

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="the JSON written by ckks-ml nn-train --export")
    ap.add_argument("--out", default="", help="write {\"accuracy\": ...} here")
    ap.add_argument("--iterations", type=int, default=0,
                    help="stop after this many iterations (default: the file's; e.g. where --stop-by cut the C++ run)")
    a = ap.parse_args()
    with open(a.data) as f:
        d = json.load(f)
    torch.manual_seed(0)  # nothing random is drawn: the initial weights and batches come from the file
    dt = torch.float64
    A = torch.tensor(d["train"]["A"], dtype=dt)
    y = torch.tensor(d["train"]["y"], dtype=torch.long)
    At = torch.tensor(d["test"]["A"], dtype=dt)
    yt = torch.tensor(d["test"]["y"], dtype=torch.long)
    C = int(d["classes"])
    Y = torch.nn.functional.one_hot(y, C).to(dt)
    w1 = torch.tensor(d["init"]["w1"], dtype=dt)
    w2 = torch.tensor(d["init"]["w2"], dtype=dt)
    w1p, w2p = w1.clone(), w2.clone()
    eta, gamma, iters = float(d["eta"]), float(d["momentum"]), int(d["iterations"])
    lam, rho = float(d.get("weight_decay", 0.0)), float(d.get("eta_decay", 0.0))
    if a.iterations > 0:
        iters = a.iterations
    batches = d["batches"]

    def logits(w1, w2, X):
        a1 = torch.sigmoid(X @ w1.T)
        a1 = torch.cat([a1, torch.ones(X.shape[0], 1, dtype=dt)], dim=1)  # the bias unit
        return a1 @ w2.T

    for it in range(iters):
        rows = torch.tensor(batches[it % len(batches)], dtype=torch.long)
        v1 = (w1 + gamma * (w1 - w1p)).requires_grad_(True)
        v2 = (w2 + gamma * (w2 - w2p)).requires_grad_(True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits(v1, v2, A[rows]), Y[rows], reduction="sum")
        g1, g2 = torch.autograd.grad(loss, [v1, v2])
        w1p, w2p = w1, w2
        eta_t = eta / (1 + rho * it)
        step, keep = eta_t / len(rows), 1 - eta_t * lam
        w1, w2 = (keep * v1 - step * g1).detach(), (keep * v2 - step * g2).detach()
    with torch.no_grad():
        acc = (logits(w1, w2, At).argmax(dim=1) == yt).double().mean().item()
    print(f"torch accuracy {acc:.4f} ({iters} iterations, exact sigmoid, weight decay {lam}, eta decay {rho})")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"accuracy": acc, "iterations": iters, "activation": "exact sigmoid"}, f)


if __name__ == "__main__":
    main()
