#!/usr/bin/python3
"""Build the U-Net's segmentation scenes (M2NIST-style) from Debian's Fashion-MNIST, deterministically.

A scene is a 32x32 canvas (float32, background 0) with 2-4 garments on it and a 32x32 map of
per-pixel labels. The same construction is in C++ (ml/unet/scenes.cpp, make_scene); a test
(tests/ml/test_unet_plain.cpp) checks that both give the same floats and labels, bit for bit, on the
scenes stored by scripts/train_unet.py.

Construction of scene i of split s (s = 0 train, drawn from the 60 000 training images; s = 1 test,
drawn from the 10 000 test images), seed S:

  * random numbers: SplitMix64 (Steele, Lea, Flood, OOPSLA 2014) started from the state
    (S << 40) | (s << 32) | i; each draw is the next 64-bit output; "r mod m" below takes it modulo m
  * k = 2 + (r mod 3) garments; for each garment j = 1..k, in this order:
    source image index = r mod n_source, row y = r mod 19, column x = r mod 19
    (19 = 32 - 14 + 1 positions, so the whole garment is on the canvas)
  * each garment is its 28x28 image (byte/255, float32) reduced to 14x14 by 2x2 means in float32,
    (((p[2r][2c] + p[2r][2c+1]) + p[2r+1][2c]) + p[2r+1][2c+1]) * 0.25 (garment_means here; the
    order of train_resnet.downsample_2x2 and of the C++ downsample_fashion_mnist_to_16). Why 2x2 means and not a crop: the whole garment
    stays visible (a 14x14 crop of a 28x28 garment would cut most of it away), and four 14x14
    garments fit a 32x32 canvas with moderate overlap.
  * painter's algorithm: the garments are drawn in order; garment pixel (u, v) with value > 0.1
    (float32 compare) is foreground: canvas (y+u, x+v) takes its value and label. Fainter pixels
    are transparent. So on an overlap the LATER garment wins (it lies on top) and a pixel is
    background (label 0) exactly when its canvas value is 0.
  * labels: 0 background and five garment groups (the ten Fashion-MNIST classes grouped so that
    a network with at most 16 channels can tell them apart at 14x14; the tops are alike at that size):
        1 tops      T-shirt/top (0), Pullover (2), Coat (4), Shirt (6)
        2 trousers  Trouser (1)
        3 dress     Dress (3)
        4 footwear  Sandal (5), Sneaker (7), Ankle boot (9)
        5 bag       Bag (8)

Usage (prints the label counts of the first N scenes of each split, or writes them):
    /usr/bin/python3 scripts/make_scenes.py --train 20000 --test 5000 [--out scenes.safetensors]
"""
import argparse
import os
import sys

import numpy as np

from model_io import read_idx, write_safetensors  # scripts/model_io.py

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
CANVAS = 32
GARMENT = 14
POSITIONS = CANVAS - GARMENT + 1  # 19
FOREGROUND = np.float32(0.1)
NUM_CLASSES = 6
GROUP_OF_CLASS = np.array([1, 2, 1, 3, 1, 4, 1, 4, 5, 4], dtype=np.int64)
GROUP_NAMES = ["background", "tops", "trousers", "dress", "footwear", "bag"]
TRAIN, TEST = 0, 1
DEFAULT_SEED = 20
MASK64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, state):
        self.state = state & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def garment_means(x):
    """[n, 28, 28] float32 -> [n, 14, 14] float32: the 2x2 means in the order of the module
    docstring (each addition rounded to float32)."""
    assert x.dtype == np.float32
    q = x.reshape(x.shape[0], GARMENT, 2, GARMENT, 2)   # q[n, r, dy, c, dx] = x[n, 2r + dy, 2c + dx]
    return (((q[:, :, 0, :, 0] + q[:, :, 0, :, 1]) + q[:, :, 1, :, 0]) + q[:, :, 1, :, 1]) * np.float32(0.25)


def load_garments(data_dir, train):
    """(garments float32 [n, 14, 14], class labels int64 [n]) of one Fashion-MNIST split."""
    prefix = "train" if train else "t10k"
    images, labels = (read_idx(os.path.join(data_dir, f"{prefix}-{kind}-ubyte.gz"), magic)
                      for kind, magic in (("images-idx3", 0x00000803), ("labels-idx1", 0x00000801)))
    if labels.shape != images.shape[:1] or images.shape[1:] != (28, 28):
        sys.exit(f"make_scenes: {data_dir}: {images.shape} images but {labels.shape} labels; "
                 "expected n 28x28 Fashion-MNIST images with n labels")
    return garment_means(images.astype(np.float32) / np.float32(255.0)), labels.astype(np.int64)


def make_scene(garments, classes, split, index, seed=DEFAULT_SEED):
    """Scene `index` of `split`: (image float32 [32, 32], labels int64 [32, 32])."""
    rng = SplitMix64((seed << 40) | (split << 32) | index)
    image = np.zeros((CANVAS, CANVAS), dtype=np.float32)
    labels = np.zeros((CANVAS, CANVAS), dtype=np.int64)
    k = 2 + rng.next() % 3
    for _ in range(k):
        src = rng.next() % garments.shape[0]
        y = rng.next() % POSITIONS
        x = rng.next() % POSITIONS
        g = garments[src]
        fg = g > FOREGROUND
        win_img = image[y:y + GARMENT, x:x + GARMENT]
        win_lab = labels[y:y + GARMENT, x:x + GARMENT]
        win_img[fg] = g[fg]
        win_lab[fg] = GROUP_OF_CLASS[classes[src]]
    return image, labels


def make_scenes(garments, classes, split, count, seed=DEFAULT_SEED):
    """Scenes 0..count-1 of `split`: (images float32 [count, 32, 32], labels int64 [count, 32, 32])."""
    images = np.zeros((count, CANVAS, CANVAS), dtype=np.float32)
    labels = np.zeros((count, CANVAS, CANVAS), dtype=np.int64)
    for i in range(count):
        images[i], labels[i] = make_scene(garments, classes, split, i, seed)
    return images, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="directory of the IDX .gz files")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--train", type=int, default=20000, help="number of training scenes")
    ap.add_argument("--test", type=int, default=5000, help="number of test scenes")
    ap.add_argument("--out", default=None,
                    help="write train_images/train_labels/test_images/test_labels (F32) to this safetensors file")
    args = ap.parse_args()
    if not 0 <= args.seed < (1 << 24):
        ap.error(f"--seed {args.seed}: must be in [0, 2^24)")
    tensors = []
    for split, name, count in ((TRAIN, "train", args.train), (TEST, "test", args.test)):
        garments, classes = load_garments(args.data, split == TRAIN)
        images, labels = make_scenes(garments, classes, split, count, args.seed)
        counts = np.bincount(labels.ravel(), minlength=NUM_CLASSES)
        print(f"{name}: {count} scenes; pixels per label " +
              ", ".join(f"{GROUP_NAMES[c]} {counts[c]}" for c in range(NUM_CLASSES)))
        tensors += [(f"{name}_images", images), (f"{name}_labels", labels.astype(np.float32))]
    if args.out:
        write_safetensors(args.out, tensors, {"seed": args.seed, "generator": "scripts/make_scenes.py"})
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
