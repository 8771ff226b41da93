#!/usr/bin/python3
"""A ResNet file's folded network in float32 (torch) on the whole Fashion-MNIST test set: accuracy,
the largest |activation input| per layer, the largest |value| anywhere. For networks whose float64
pass (train_resnet.folded_forward in float64, what the C++ computes) is too slow to run on all
10 000 images here — the wide ResNet-20 takes about 0.4 s per image in float64 and 0.75 s of CPU per
image in the C++ forward pass. Float32 rounding can flip a prediction whose top-two logits are
within about 1e-5 of each other, so the accuracy is that of the float32 network.

  /usr/bin/python3 scripts/resnet_eval_f32.py ml/models/resnet20w_fmnist.safetensors [threads]
"""
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_resnet  # noqa: E402  (the folded forward pass and the data loader)
from model_io import read_safetensors  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    arrays, meta = read_safetensors(sys.argv[1])
    W = {k: torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items()}
    n = len({k.split(".")[1] for k in W if k.startswith("s1.b")})
    if n == 0:
        sys.exit(f"{sys.argv[1]}: no stage-1 blocks (s1.b*): not a ResNet written by scripts/train_resnet.py")
    size = next((sz for sz in train_resnet.INPUT_SIZES if meta.get("input") == train_resnet.input_description(sz)), None)
    if size is None:
        sys.exit(f"{sys.argv[1]}: metadata input {meta.get('input')!r} is none of train_resnet's input sizes")
    x, y = train_resnet.load(train_resnet.DEFAULT_DATA, False, size)
    stats = {"act_in": {}, "max_abs": 0.0}
    t0 = time.time()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], 250):
            logits = train_resnet.folded_forward(W, x[i:i + 250].float(), n, stats)
            correct += (logits.argmax(1) == y[i:i + 250]).sum().item()
    print(f"{os.path.basename(sys.argv[1])}: float32 folded network on {x.shape[0]} test images: accuracy "
          f"{correct / x.shape[0]:.4f}; max |activation input| {max(stats['act_in'].values()):.3f}; "
          f"max |any value| {stats['max_abs']:.3f}; {time.time() - t0:.0f} s")
    print({k: round(v, 3) for k, v in stats["act_in"].items()})


if __name__ == "__main__":
    main()
