#!/usr/bin/python3
"""Logit margins of a committed ResNet on the whole Fashion-MNIST test set, in plaintext: for each
image the gap between its two largest logits (the folded network, float64, exactly the arithmetic of
the C++ forward pass: train_resnet.folded_forward). A class can change under encryption only if the
logit error reaches half the margin, so the smallest margins say how small the encrypted logit
error must be (docs/ml.md, "What a larger scale would buy").

  /usr/bin/python3 scripts/resnet_margins.py [--model ml/models/resnet20_fmnist.safetensors]
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_resnet  # noqa: E402  (the folded forward pass and the data loader)
from model_io import read_safetensors  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(here, "..", "ml", "models", "resnet20_fmnist.safetensors"))
    ap.add_argument("--data", default=train_resnet.DEFAULT_DATA, help="directory of the IDX .gz files")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    arrays, meta = read_safetensors(args.model)
    W = {k: torch.from_numpy(v.astype(np.float64)) for k, v in arrays.items()}
    blocks = sorted({k.split(".")[1] for k in W if k.startswith("s1.b")})
    if not blocks:
        sys.exit(f"{args.model}: no stage-1 blocks (s1.b*): not a ResNet written by scripts/train_resnet.py")
    size = next((sz for sz in train_resnet.INPUT_SIZES if meta.get("input") == train_resnet.input_description(sz)), None)
    if size is None:
        sys.exit(f"{args.model}: metadata input {meta.get('input')!r} is none of train_resnet's input sizes")
    x, y = train_resnet.load(args.data, False, size)
    with torch.no_grad():
        logits = torch.cat([train_resnet.folded_forward(W, x[i:i + 500].double(), len(blocks))
                            for i in range(0, x.shape[0], 500)])
    top2 = logits.topk(2, dim=1).values
    margin = (top2[:, 0] - top2[:, 1]).numpy()
    acc = (logits.argmax(1) == y).double().mean().item()
    print(f"{os.path.basename(args.model)}: {x.shape[0]} test images, accuracy {acc:.4f}")
    print(f"smallest margin {margin.min():.3g} (2^{np.log2(margin.min()):.2f}); "
          f"0.1 % / 1 % quantiles {np.quantile(margin, 1e-3):.3g} / {np.quantile(margin, 1e-2):.3g}")
    for e in (-20, -15, -12, -10, -8):
        print(f"images with margin below 2^{e}: {int((margin < 2.0 ** e).sum())}")


if __name__ == "__main__":
    main()
