#!/usr/bin/python3
"""Slice-wise weight clustering of a committed quadratic-activation ResNet (issue 19, part 5).

Reads a folded ResNet written by scripts/train_resnet.py (ml/models/resnet*_fmnist*.safetensors),
clusters the weights of every convolution slice to at most K shared values with scikit-learn's
k-means, fine-tunes the shared values with the assignments fixed, and writes the clustered model in
the same safetensors layout (plus, optionally, its float64 logits of test images 0..99).

Slice (this project's definition; docs/ml.md, "Slice-wise weight clustering"): the filter of one
output channel o of one convolution, w[o, :, :, :] (C_in·k·k weights). Every 3×3 convolution, the
stem and the 1×1 projection shortcuts are clustered; a slice with at most K distinct values is left
as it is. The dense layer (fc) is not a convolution and is not clustered.

Fine-tuning: the folded network itself (no batch normalisation), the K shared values of every slice,
the biases, the activation coefficients (at --act-lr-scale of the rate) and fc trained; the
assignments fixed. Loss = cross-entropy + --penalty · Σ mean(relu(|t| − 8)²) + --penalty-max ·
Σ mean_images(max relu(|t| − 8)²) over the activation inputs t, as train_resnet.py, never clamped.
SGD (Nesterov, momentum 0.9), cosine decay from --lr to 0 over --steps steps of --batch images
drawn (seeded) from all 60 000 training images.

  /usr/bin/python3 scripts/cluster_resnet.py --model ml/models/resnet20_fmnist.safetensors --k 4 \\
      --steps 200 --out train/resnet20_fmnist_k4.safetensors

--census prints, without training, what the clustering changes in the packed convolutions of
ml/resnet/resnet_encrypted.h (products, distinct weight plaintexts, rotations per stage) and in a
per-channel layout (one channel per ciphertext), for the model given (clustered or not).
"""
import argparse
import datetime
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_resnet  # noqa: E402  (data loader, folded forward pass, input sizes)
from model_io import read_safetensors, write_safetensors  # noqa: E402


def conv_names(arrays):
    """The convolution weight tensors ([C_out, C_in, k, k]), in file order."""
    return [n for n, a in arrays.items() if n.endswith(".weight") and a.ndim == 4]


def cluster_slices(w, k, seed):
    """w: float32 [C_out, C_in, kh, kw]. Per output channel o, k-means (sklearn, k-means++ init,
    n_init 3, seeded) of the C_in·kh·kw values to min(k, distinct values) centres.
    Returns (centres float64 [C_out, k] (unused entries 0), assignments int64 [C_out, C_in·kh·kw])."""
    from sklearn.cluster import KMeans
    c_out = w.shape[0]
    flat = w.reshape(c_out, -1).astype(np.float64)
    centres = np.zeros((c_out, k))
    assign = np.zeros(flat.shape, dtype=np.int64)
    for o in range(c_out):
        distinct, inverse = np.unique(flat[o], return_inverse=True)
        if len(distinct) <= k:  # nothing to cluster: the slice keeps its values exactly
            centres[o, :len(distinct)] = distinct
            assign[o] = inverse
            continue
        km = KMeans(n_clusters=k, init="k-means++", n_init=3, random_state=seed).fit(flat[o].reshape(-1, 1))
        centres[o] = km.cluster_centers_[:, 0]
        assign[o] = km.labels_
    return centres, assign


def forward(W, x, n_blocks, bound):
    """train_resnet.folded_forward with gradients through the activation coefficients, also
    returning the two range penalties summed over the activations (train_resnet.QuadAct's terms)."""
    pens = []

    def act(name, t):
        excess = F.relu(t.abs() - bound) ** 2
        pens.append(torch.stack([excess.mean(), excess.flatten(1).amax(1).mean()]))
        a, b, c = W[name][0], W[name][1], W[name][2]
        return (a * t + b) * t + c

    return train_resnet.folded_forward(W, x, n_blocks, act_fn=act), torch.stack(pens).sum(0)


def clustered_arrays(arrays, centres, assign):
    """The F32 tensors of the clustered model: every convolution weight = its slice's centre, each
    centre rounded to F32 once (so a slice holds at most K distinct F32 values exactly)."""
    out = {}
    for name, a in arrays.items():
        if name in centres:
            c32 = centres[name].astype(np.float32)
            out[name] = np.take_along_axis(c32, assign[name], axis=1).reshape(a.shape)
        else:
            out[name] = a.astype(np.float32)
    return out


def evaluate(arrays, n_blocks, x, y):
    """Float64 folded forward pass (train_resnet.folded_forward, the C++ arithmetic) on x:
    (accuracy, correct among the first 1000, stats, logits of the first 100)."""
    W = {k: torch.from_numpy(v.astype(np.float64)) for k, v in arrays.items()}
    stats = {"act_in": {}, "max_abs": 0.0}
    correct = correct_1000 = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], 500):
            hits = train_resnet.folded_forward(W, x[i:i + 500].double(), n_blocks, stats).argmax(1) == y[i:i + 500]
            correct += hits.sum().item()
            correct_1000 += hits[:max(0, 1000 - i)].sum().item()
        logits = train_resnet.folded_forward(W, x[:train_resnet.K_LOGITS].double(), n_blocks).numpy()
    return correct / x.shape[0], correct_1000, stats, logits


# ---------------------------------------------------------------- census of the packed layout
def channel_at(channels, nb, i, beta):
    """ResNetPacking::channel_at: block β of ciphertext i holds β mod C (C ≤ nb) or i·nb + β."""
    return beta % channels if channels <= nb else i * nb + beta


def ciphertexts(channels, nb):
    return 1 if channels <= nb else channels // nb


def conv_census(w, nb):
    """Products and distinct weight plaintexts of one packed convolution (resnet_encrypted.cpp,
    term_weights / channel_rotation_term): for output ciphertext j, rotation r < nr = min(C_in, nb),
    input ciphertext i and tap t, d_{i,t,r} holds w[o(α)][c(i, α + r)][t] in block α + r (times a
    factor uniform over the layer) on the tap's mask; all-zero plaintexts are skipped. Two
    plaintexts of the same convolution are equal exactly when their tap (mask) and their nb block
    weights are. Returns (products, distinct, per-channel products, per-channel distinct-value
    products)."""
    c_out, c_in, kh, kw = w.shape
    nr = min(c_in, nb)
    products, distinct = 0, set()
    alpha = np.arange(nb)
    for j in range(ciphertexts(c_out, nb)):
        o = np.array([channel_at(c_out, nb, j, a) for a in alpha])
        for r in range(nr):
            for i in range(ciphertexts(c_in, nb)):
                c = np.array([channel_at(c_in, nb, i, (a + r) % nb) for a in alpha])
                for t in range(kh * kw):
                    vec = w[o, c, t // kw, t % kw]
                    if not vec.any():
                        continue
                    products += 1
                    distinct.add((t, vec.tobytes()))
    flat = w.reshape(c_out, -1)
    per_channel = int(np.count_nonzero(flat))
    per_channel_clustered = sum(len(np.unique(flat[o][flat[o] != 0])) for o in range(c_out))
    return products, len(distinct), per_channel, per_channel_clustered


def census(arrays, nb):
    """Per stage (stem, s1, s2, s3): packed products / distinct plaintexts / rotations, and the
    per-channel layout's products before (one per nonzero weight) and after (one per distinct
    nonzero value of a slice: the taps sharing a value are summed first, then multiplied once)."""
    rows = {}
    for name in conv_names(arrays):
        w = arrays[name]
        stage = name.split(".")[0] if name.startswith("s") else "stem"
        c_out, c_in, kh, _ = w.shape
        p, d, pc, pcc = conv_census(w, nb)
        taps_rot = 0 if kh == 1 else (kh * kh - 1) * ciphertexts(c_in, nb)
        # The projection shortcut rides inside conv2: no rotations of its own.
        block_rot = 0 if name.endswith("shortcut.weight") else ciphertexts(c_out, nb) * (min(c_in, nb) - 1)
        pc_rot = 0 if kh == 1 else (kh * kh - 1) * c_in
        r = rows.setdefault(stage, [0] * 6)
        for idx, v in enumerate((p, d, taps_rot + block_rot, pc, pcc, pc_rot)):
            r[idx] += v
    return rows


def print_census(arrays, nb, label):
    rows = census(arrays, nb)
    print(f"census of {label} ({nb} blocks per ciphertext)")
    print("stage | packed products | distinct plaintexts | packed rotations | per-channel products "
          "(weights) | per-channel products (distinct values per slice) | per-channel rotations")
    tot = [0] * 6
    for stage, r in rows.items():
        print(f"{stage} | " + " | ".join(str(v) for v in r))
        tot = [a + b for a, b in zip(tot, r)]
    print("total | " + " | ".join(str(v) for v in tot))
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(here, "..", "ml", "models", "resnet20_fmnist.safetensors"))
    ap.add_argument("--k", type=int, default=4, help="shared values per slice (clusters), ≥ 1")
    ap.add_argument("--steps", type=int, default=200, help="fine-tuning steps (0: cluster only)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.002, help="peak SGD learning rate (cosine decay to 0)")
    ap.add_argument("--act-lr-scale", type=float, default=0.02)
    ap.add_argument("--clip", type=float, default=5.0, help="gradient-norm clipping")
    ap.add_argument("--bound", type=float, default=8.0)
    ap.add_argument("--penalty", type=float, default=0.1)
    ap.add_argument("--penalty-max", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=train_resnet.DEFAULT_DATA, help="directory of the IDX .gz files")
    ap.add_argument("--test-limit", type=int, default=0, help="evaluate on the first N test images only")
    ap.add_argument("--out", default=None, help="clustered model path (default: nothing written)")
    ap.add_argument("--logits-out", default=None, help="also write its float64 logits of test images 0..99")
    ap.add_argument("--census", action="store_true", help="print the census of --model and exit")
    ap.add_argument("--blocks", type=int, default=32,
                    help="channel blocks per ciphertext for --census (32: N = 2^16 with a 32×32 grid)")
    args = ap.parse_args()
    if args.k < 1:
        sys.exit(f"cluster_resnet: --k {args.k}: give at least 1 shared value per slice")
    torch.set_num_threads(args.threads)
    arrays, meta = read_safetensors(args.model)
    arrays = {k: np.array(v) for k, v in arrays.items()}
    if args.census:
        print_census(arrays, args.blocks, args.model)
        return
    blocks = sorted({k.split(".")[1] for k in arrays if k.startswith("s1.b")})
    if not blocks:
        sys.exit(f"{args.model}: no stage-1 blocks (s1.b*): not a ResNet written by scripts/train_resnet.py")
    n_blocks = len(blocks)
    size = next((sz for sz in train_resnet.INPUT_SIZES if meta.get("input") == train_resnet.input_description(sz)), None)
    if size is None:
        sys.exit(f"{args.model}: metadata input {meta.get('input')!r} is none of train_resnet's input sizes")
    t0 = time.time()
    x_test, y_test = train_resnet.load(args.data, False, size)
    if args.test_limit:
        x_test, y_test = x_test[:args.test_limit], y_test[:args.test_limit]

    # 1. k-means per slice.
    names = conv_names(arrays)
    centres, assign = {}, {}
    for name in names:
        centres[name], assign[name] = cluster_slices(arrays[name], args.k, args.seed)
    kmeans_seconds = time.time() - t0
    acc_before, _, _, _ = evaluate(clustered_arrays(arrays, centres, assign), n_blocks, x_test, y_test)
    print(f"k-means (K = {args.k}, {sum(a.shape[0] for a in assign.values())} slices) in {kmeans_seconds:.1f}s; "
          f"clustered, not fine-tuned: test accuracy {acc_before:.4f}", flush=True)

    # 2. Fine-tuning with the assignments fixed.
    torch.manual_seed(args.seed)
    params = {n: torch.tensor(centres[n], dtype=torch.float32, requires_grad=True) for n in names}
    others = {n: torch.tensor(a.astype(np.float32), requires_grad=True) for n, a in arrays.items() if n not in centres}
    idx = {n: torch.from_numpy(assign[n]) for n in names}
    shapes = {n: arrays[n].shape for n in names}
    act_params = [others[n] for n in others if n.endswith("act") or ".act" in n]
    rest = [p for n, p in others.items() if not (n.endswith("act") or ".act" in n)]
    opt = torch.optim.SGD([{"params": list(params.values()) + rest, "lr_scale": 1.0},
                           {"params": act_params, "lr_scale": args.act_lr_scale}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    train_seconds = 0.0
    if args.steps > 0:
        x_train, y_train = train_resnet.load(args.data, True, size)
        gen = torch.Generator().manual_seed(args.seed)
        t1 = time.time()
        for step in range(args.steps):
            batch = torch.randint(0, x_train.shape[0], (args.batch,), generator=gen)
            W = dict(others)
            for n in names:
                W[n] = torch.gather(params[n], 1, idx[n]).view(shapes[n])
            logits, pens = forward(W, x_train[batch], n_blocks, args.bound)
            ce = F.cross_entropy(logits, y_train[batch])
            loss = ce + args.penalty * pens[0] + args.penalty_max * pens[1]
            if not torch.isfinite(loss):
                sys.exit(f"cluster_resnet: loss diverged at step {step}; lower --lr")
            lr = 0.5 * args.lr * (1 + math.cos(math.pi * step / args.steps))
            for g in opt.param_groups:
                g["lr"] = lr * g["lr_scale"]
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()) + list(others.values()), args.clip)
            opt.step()
            if (step + 1) % 50 == 0 or step == 0:
                print(f"  step {step + 1:4d}  ce {ce.item():.4f}  penalty {pens[0].item():.4f}  "
                      f"{time.time() - t1:.0f}s", flush=True)
        train_seconds = time.time() - t1
    final = {n: p.detach().numpy() for n, p in params.items()}
    tuned = {n: p.detach().numpy() for n, p in others.items()}
    tuned.update({n: arrays[n] for n in names})
    out_arrays = clustered_arrays(tuned, final, assign)
    acc, correct_1000, stats, logits = evaluate(out_arrays, n_blocks, x_test, y_test)
    max_act_in = max(stats["act_in"].values())
    print(f"fine-tuned ({args.steps} steps, {train_seconds:.0f}s): test accuracy {acc:.4f} on {x_test.shape[0]} "
          f"images (float64, F32 weights); max |activation input| {max_act_in:.3f}; "
          f"max |any value| {stats['max_abs']:.3f}; unclustered model: {meta.get('test_accuracy')}", flush=True)
    for n in names:  # the property the file promises, checked before writing
        per_slice = out_arrays[n].reshape(out_arrays[n].shape[0], -1)
        assert max(len(np.unique(s)) for s in per_slice) <= args.k, n
    if not args.out:
        return

    keep = ("arch", "blocks_per_stage", "input", "activation", "widths")
    out_meta = {k: meta[k] for k in keep if k in meta}
    out_meta.update({
        "test_accuracy": f"{acc:.4f}",
        "test_images": str(x_test.shape[0]),
        "test_accuracy_first_1000": f"{correct_1000 / min(1000, x_test.shape[0]):.4f}",
        "test_accuracy_clustered_before_finetune": f"{acc_before:.4f}",
        "max_abs_act_input": f"{max_act_in:.4f}",
        "max_abs_act_input_per_layer": json.dumps({k: round(v, 4) for k, v in stats["act_in"].items()}),
        "max_abs_value": f"{stats['max_abs']:.4f}",
        "clusters": str(args.k),
        "slice": ("one output channel's filter w[o,:,:,:] of every convolution (stem, conv1, conv2, "
                  "shortcut): at most K distinct F32 values; fc not clustered"),
        "clustering": f"sklearn KMeans (k-means++, n_init 3, random_state {args.seed}) per slice, float64",
        "fine_tuning": (f"{args.steps} steps of {args.batch} images drawn with replacement (seed {args.seed}) "
                        f"from the 60000 training images; assignments fixed; trained: shared values, biases, "
                        f"activation coefficients (x{args.act_lr_scale}), fc; SGD nesterov momentum 0.9, lr "
                        f"{args.lr} cosine to 0, clip {args.clip}, float32; loss ce + {args.penalty}*mean(relu(|t|-"
                        f"{args.bound})^2) + {args.penalty_max}*mean_images(max(relu(|t|-{args.bound})^2)), no clamp"),
        "fine_tuning_seconds": f"{train_seconds:.0f}",
        "source_model": os.path.basename(args.model),
        "source_test_accuracy": meta.get("test_accuracy", ""),
        "seed": str(args.seed),
        "torch_version": torch.__version__,
        "command": " ".join(["/usr/bin/python3", "scripts/cluster_resnet.py"] + sys.argv[1:]),
        "date": datetime.date.today().isoformat(),
        "parameters": str(sum(a.size for a in out_arrays.values())),
    })
    write_safetensors(args.out, [(n, out_arrays[n]) for n in arrays], out_meta)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", flush=True)
    if args.logits_out:
        write_safetensors(args.logits_out,
                          [("logits", logits.astype(np.float64)),
                           ("indices", np.arange(train_resnet.K_LOGITS, dtype=np.float32))],
                          {"description": f"float64 logits of Fashion-MNIST test images 0..{train_resnet.K_LOGITS - 1} "
                                          f"(t10k order) under {os.path.basename(args.out)}, from the stored F32 weights",
                           "labels": ",".join(str(v) for v in y_test[:train_resnet.K_LOGITS].tolist()),
                           "model_test_accuracy": f"{acc:.4f}",
                           "date": out_meta["date"]})
        print(f"wrote {args.logits_out}", flush=True)
    print(f"{time.time() - t0:.0f}s in all", flush=True)


if __name__ == "__main__":
    main()
