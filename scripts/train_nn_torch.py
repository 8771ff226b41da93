#!/usr/bin/python3
"""The network of `ckks-ml nn-train` trained by PyTorch with the exact sigmoid.

Reads the file written by `ckks-ml nn-train ... --export DATA.json` (training and test rows with
the bias column last, labels, the initial weights W1 (H x D) and W2 (C x (H+1)) -- or, for the
four-layer network (`--hidden H1,H2`), W1 (H1 x D), W1b (H2 x (H1+1)) and W2 (C x (H2+1)) --, the fixed batches,
the step eta, the momentum gamma, the weight decay lambda, the step decay rho and the iteration
count) and runs the SAME algorithm as ml/nn/nn_plain.h -- same initialisation, batches, step
schedule, weight decay and Nesterov look-ahead
    eta_t = eta / (1 + rho t),  V = W + gamma (W - W_prev),  W_prev = W,
    W = (1 - eta_t lambda) V - (eta_t / b) * grad BCE(V)
(the C++ twin's E = (O - Y)/2 with step 2 eta_t / b is the same step) -- but with the exact
sigmoid in every layer and the gradient from torch.autograd of the binary cross-entropy with
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
    # The layers in order: W1, (W1b: the four-layer network's second hidden layer), W2.
    names = ["w1", "w1b", "w2"] if "w1b" in d["init"] else ["w1", "w2"]
    ws = [torch.tensor(d["init"][n], dtype=dt) for n in names]
    wps = [w.clone() for w in ws]
    eta, gamma, iters = float(d["eta"]), float(d["momentum"]), int(d["iterations"])
    lam, rho = float(d.get("weight_decay", 0.0)), float(d.get("eta_decay", 0.0))
    if a.iterations > 0:
        iters = a.iterations
    batches = d["batches"]

    def logits(ws, X):
        a = X
        for w in ws[:-1]:  # the hidden layers, each with its bias unit appended
            a = torch.cat([torch.sigmoid(a @ w.T), torch.ones(X.shape[0], 1, dtype=dt)], dim=1)
        return a @ ws[-1].T

    for it in range(iters):
        rows = torch.tensor(batches[it % len(batches)], dtype=torch.long)
        vs = [(w + gamma * (w - wp)).requires_grad_(True) for w, wp in zip(ws, wps)]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits(vs, A[rows]), Y[rows], reduction="sum")
        gs = torch.autograd.grad(loss, vs)
        wps = ws
        eta_t = eta / (1 + rho * it)
        step, keep = eta_t / len(rows), 1 - eta_t * lam
        ws = [(keep * v - step * g).detach() for v, g in zip(vs, gs)]
    with torch.no_grad():
        acc = (logits(ws, At).argmax(dim=1) == yt).double().mean().item()
    shape = " -> ".join(str(n) for n in [A.shape[1] - 1] + [w.shape[0] for w in ws])
    print(f"torch accuracy {acc:.4f} ({shape}, {iters} iterations, exact sigmoid, weight decay {lam}, eta decay {rho})")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"accuracy": acc, "iterations": iters, "activation": "exact sigmoid", "layers": shape}, f)


if __name__ == "__main__":
    main()
