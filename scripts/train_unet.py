#!/usr/bin/python3
"""Train the HE-friendly U-Net [Chiang25UNet] on the Fashion-MNIST scenes of scripts/make_scenes.py,
fold its batch normalisation into the convolutions, and write the weights.

Architecture (two levels down and two up, [RFB15]'s U-Net shape with [Chiang25UNet]'s HE-friendly
layers: trained quadratics instead of ReLU, 2x2 mean pooling instead of max pooling,
ConvTranspose2d(k = 2, s = 2) for upsampling, skip connections concatenated on the channel axis;
widths c1, c2, c3 = --widths, default 8, 16, 32):

    x        1x32x32 scene (float32, background 0)
    enc1     act(BN(conv3x3 1->c1))                        c1 x 32x32   (skip 1)
    pool1    2x2 mean                                      c1 x 16x16
    enc2     act(BN(conv3x3 c1->c2))                       c2 x 16x16   (skip 2)
    pool2    2x2 mean                                      c2 x 8x8
    mid      act(BN(conv3x3 c2->c3))                       c3 x 8x8
    up2      ConvTranspose2d(c3->c2, k 2, s 2)             c2 x 16x16
    cat2     [up2, enc2] (up-sampled channels first)       2c2 x 16x16
    dec2     act(BN(conv3x3 2c2->c2))                      c2 x 16x16
    up1      ConvTranspose2d(c2->c1, k 2, s 2)             c1 x 32x32
    cat1     [up1, enc1]                                   2c1 x 32x32
    dec1     act(BN(conv3x3 2c1->c1))                      c1 x 32x32
    head     conv1x1 c1->6                                 6 x 32x32 logits; argmax = label

    act(t) = a*t^2 + b*t + c, one trainable (a, b, c) per layer (train_resnet.QuadAct, with its
    out-of-range penalty on |t| > --bound and training-only clamp).

Every 3x3 convolution has padding 1. BN is folded after training as in scripts/train_resnet.py
(w' = w*g/sqrt(v+eps), b' = -m*g/sqrt(v+eps) + beta); the transposed convolutions and the head
have their own bias and no BN.

Loss: per-pixel cross-entropy + --penalty * sum of the activation range penalties.
Optimiser: Adam, cosine decay of the learning rate over all steps.

Evaluation (of the FOLDED network in float64 from the stored F32 weights, on all --test scenes):
pixel accuracy = correct pixels / all pixels; mean IoU = the mean over the 6 labels of
|pred = c and truth = c| / |pred = c or truth = c|, the counts summed over every pixel of every
test scene (dataset-level IoU, as ml/unet/unet_plain.h's SegmentationScore computes it).

Writes (format: ml/models/README.md)
    <out-dir>/<name>.safetensors         folded weights (F32) + __metadata__
    <out-dir>/<name>_logits.safetensors  the first --check scenes of the test split:
                                         images (F32) [K, 32, 32], labels (F32) [K, 32, 32],
                                         logits (F64) [K, 6, 32, 32], indices (F32) [K]

Needs python3-torch (Debian). The committed files came from (with --out-dir /tmp/unet2, copied in):
    /usr/bin/python3 scripts/train_unet.py --epochs 10 --threads 1 --clamp-epochs 6
Without --clamp-epochs the clamp hides activation inputs that reach 608 at evaluation (dec1).
"""
import argparse
import datetime
import os
import sys
import time

import numpy as np

import make_scenes as ms                      # scripts/make_scenes.py
from model_io import write_safetensors        # scripts/model_io.py
from train_resnet import BN_EPS, QuadAct, fold  # scripts/train_resnet.py
import torch
import torch.nn as nn
import torch.nn.functional as F

ACTS = ["enc1.act", "enc2.act", "mid.act", "dec2.act", "dec1.act"]


def conv_bn(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout, eps=BN_EPS))


class UNet(nn.Module):
    def __init__(self, widths, act0):
        super().__init__()
        c1, c2, c3 = widths
        self.enc1, self.enc1_act = conv_bn(1, c1), QuadAct(*act0)
        self.enc2, self.enc2_act = conv_bn(c1, c2), QuadAct(*act0)
        self.mid, self.mid_act = conv_bn(c2, c3), QuadAct(*act0)
        self.up2 = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.dec2, self.dec2_act = conv_bn(2 * c2, c2), QuadAct(*act0)
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.dec1, self.dec1_act = conv_bn(2 * c1, c1), QuadAct(*act0)
        self.head = nn.Conv2d(c1, ms.NUM_CLASSES, 1)

    def acts(self):
        return [self.enc1_act, self.enc2_act, self.mid_act, self.dec2_act, self.dec1_act]

    def forward(self, x):
        e1 = self.enc1_act(self.enc1(x))
        e2 = self.enc2_act(self.enc2(F.avg_pool2d(e1, 2)))
        m = self.mid_act(self.mid(F.avg_pool2d(e2, 2)))
        d2 = self.dec2_act(self.dec2(torch.cat([self.up2(m), e2], 1)))
        d1 = self.dec1_act(self.dec1(torch.cat([self.up1(d2), e1], 1)))
        return self.head(d1)


def folded_tensors(model):
    """The tensor list [(name, float32 numpy)] the C++ loader reads (ml/unet/unet_plain.h)."""
    out = []
    for name in ["enc1", "enc2", "mid", "dec2", "dec1"]:
        w, b = fold(getattr(model, name))
        out += [(f"{name}.conv.weight", w.float().numpy()), (f"{name}.conv.bias", b.float().numpy()),
                (f"{name}.act", getattr(model, f"{name}_act").coef.detach().float().numpy().copy())]
    for name in ["up2", "up1", "head"]:
        layer = getattr(model, name)
        out += [(f"{name}.weight", layer.weight.detach().float().numpy()),
                (f"{name}.bias", layer.bias.detach().float().numpy())]
    order = ["enc1", "enc2", "mid", "up2", "dec2", "up1", "dec1", "head"]
    return sorted(out, key=lambda t: order.index(t[0].split(".")[0]))


def folded_forward(W, x, stats=None):
    """The folded network in the dtype of W (float64 for the reference), the arithmetic of the C++
    UNet::trace. stats (dict name -> max |activation input|) is updated if given."""

    def block(name, h):
        t = F.conv2d(h, W[f"{name}.conv.weight"], W[f"{name}.conv.bias"], padding=1)
        if stats is not None:
            stats[name] = max(stats.get(name, 0.0), t.abs().max().item())
        a, b, c = W[f"{name}.act"].tolist()
        return (a * t + b) * t + c

    e1 = block("enc1", x)
    e2 = block("enc2", F.avg_pool2d(e1, 2))
    m = block("mid", F.avg_pool2d(e2, 2))
    u2 = F.conv_transpose2d(m, W["up2.weight"], W["up2.bias"], stride=2)
    d2 = block("dec2", torch.cat([u2, e2], 1))
    u1 = F.conv_transpose2d(d2, W["up1.weight"], W["up1.bias"], stride=2)
    d1 = block("dec1", torch.cat([u1, e1], 1))
    return F.conv2d(d1, W["head.weight"], W["head.bias"])


def confusion(pred, truth, k=ms.NUM_CLASSES):
    return np.bincount((truth.ravel() * k + pred.ravel()).astype(np.int64), minlength=k * k).reshape(k, k)


def scores(conf):
    """(mean IoU, pixel accuracy, per-label IoU) of a confusion matrix [truth, pred]."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return float(np.nanmean(iou)), float(tp.sum() / conf.sum()), iou


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", default="8,16,32", help="channels c1,c2,c3 of the three resolutions")
    ap.add_argument("--train", type=int, default=20000, help="training scenes")
    ap.add_argument("--test", type=int, default=5000, help="test scenes (all are evaluated)")
    ap.add_argument("--scene-seed", type=int, default=ms.DEFAULT_SEED, help="make_scenes.py --seed")
    ap.add_argument("--seed", type=int, default=1, help="torch seed (initialisation, batch order)")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01, help="peak Adam learning rate")
    ap.add_argument("--a0", type=float, default=0.05)
    ap.add_argument("--b0", type=float, default=1.0)
    ap.add_argument("--c0", type=float, default=0.0)
    ap.add_argument("--bound", type=float, default=8.0, help="activation inputs outside [-B, B] are penalised")
    ap.add_argument("--penalty", type=float, default=0.1, help="weight of the range penalty")
    ap.add_argument("--clamp-epochs", type=int, default=-1,
                    help="clamp activation inputs to [-B, B] only in the first E epochs (default: all), so that "
                         "the last epochs train the unclamped polynomial network that CKKS evaluates")
    ap.add_argument("--act-lr-scale", type=float, default=0.1,
                    help="learning rate of the activation coefficients relative to --lr")
    ap.add_argument("--check", type=int, default=4, help="test scenes whose logits are written for the C++ check")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=ms.DEFAULT_DATA)
    ap.add_argument("--name", default="unet_fmnist_scenes")
    ap.add_argument("--out-dir", default=os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "ml", "models")))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    try:
        widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        widths = ()
    if len(widths) != 3 or min(widths) < 1 or max(widths) > 32:
        ap.error(f"--widths {args.widths!r}: give three channel counts in 1..32, e.g. 8,16,32")
    if not 0 <= args.scene_seed < (1 << 24):
        ap.error(f"--scene-seed {args.scene_seed}: must be in [0, 2^24) (make_scenes.py --seed)")
    if not 1 <= args.check <= args.test or args.train < 1:
        ap.error(f"--check {args.check}, --test {args.test}, --train {args.train}: need 1 <= --check <= --test "
                 "and --train >= 1")

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    g_tr, c_tr = ms.load_garments(args.data, True)
    g_te, c_te = ms.load_garments(args.data, False)
    xi, yi = ms.make_scenes(g_tr, c_tr, ms.TRAIN, args.train, args.scene_seed)
    xt, yt = ms.make_scenes(g_te, c_te, ms.TEST, args.test, args.scene_seed)
    x_train, y_train = torch.from_numpy(xi).unsqueeze(1), torch.from_numpy(yi)
    x_test, y_test = torch.from_numpy(xt).unsqueeze(1), torch.from_numpy(yt)
    print(f"scenes built in {time.time() - t0:.1f} s: {args.train} train, {args.test} test", flush=True)

    model = UNet(widths, (args.a0, args.b0, args.c0))
    for act in model.acts():
        act.bound, act.clamp = args.bound, True
    act_params = [p for a in model.acts() for p in a.parameters()]
    act_ids = {id(p) for p in act_params}
    other = [p for p in model.parameters() if id(p) not in act_ids]
    opt = torch.optim.Adam([{"params": other, "lr": args.lr},
                            {"params": act_params, "lr": args.lr * args.act_lr_scale}])
    steps_per_epoch = (args.train + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    base = [g["lr"] for g in opt.param_groups]
    step = 0
    for epoch in range(args.epochs):
        model.train()
        for act in model.acts():
            act.clamp = args.clamp_epochs < 0 or epoch < args.clamp_epochs
        perm = torch.randperm(args.train)
        run_loss, t_ep = 0.0, time.time()
        for i in range(0, args.train, args.batch):
            idx = perm[i:i + args.batch]
            sink = []
            for act in model.acts():
                act.penalty_sink = sink
            logits = model(x_train[idx])
            pen = torch.stack([s[0] for s in sink]).sum()
            loss = F.cross_entropy(logits, y_train[idx]) + args.penalty * pen
            for act in model.acts():
                act.penalty_sink = None
            factor = 0.5 * (1 + np.cos(np.pi * step / total))
            for g, b in zip(opt.param_groups, base):
                g["lr"] = b * factor
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            run_loss += loss.item()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {run_loss / steps_per_epoch:.4f} "
              f"({time.time() - t_ep:.0f} s)", flush=True)

    model.eval()
    tensors = folded_tensors(model)
    W = {n: torch.from_numpy(a.astype(np.float64)) for n, a in tensors}
    stats, conf = {}, np.zeros((ms.NUM_CLASSES, ms.NUM_CLASSES), dtype=np.int64)
    with torch.no_grad():
        for i in range(0, args.test, 500):
            pred = folded_forward(W, x_test[i:i + 500].double(), stats).argmax(1)
            conf += confusion(pred.numpy(), y_test[i:i + 500].numpy())
        check_logits = folded_forward(W, x_test[:args.check].double()).numpy()
    miou, pacc, iou = scores(conf)
    print(f"folded float64 network on {args.test} test scenes: mean IoU {miou:.4f}, pixel accuracy {pacc:.4f}")
    print("per-label IoU: " + ", ".join(f"{ms.GROUP_NAMES[c]} {iou[c]:.4f}" for c in range(ms.NUM_CLASSES)))
    print("max |activation input|: " + ", ".join(f"{n} {stats[n]:.3f}" for n in ["enc1", "enc2", "mid", "dec2", "dec1"]))
    if args.no_write:
        return
    meta = {
        "arch": "unet2", "widths": ",".join(map(str, widths)), "num_classes": ms.NUM_CLASSES,
        "labels": ",".join(ms.GROUP_NAMES),
        "input": "1x32x32 scene of scripts/make_scenes.py (float32, background 0)",
        "scenes": f"make_scenes seed {args.scene_seed}: {args.train} train scenes (training images), "
                  f"{args.test} test scenes (test images)",
        "command": "/usr/bin/python3 " + " ".join(sys.argv),
        "seed": args.seed, "epochs": args.epochs,
        "test_mean_iou": f"{miou:.4f}", "test_pixel_accuracy": f"{pacc:.4f}",
        "test_iou_per_label": ",".join(f"{v:.4f}" for v in iou),
        "max_abs_act_input": ",".join(f"{n}:{stats[n]:.4f}" for n in ["enc1", "enc2", "mid", "dec2", "dec1"]),
        "date": datetime.date.today().isoformat(), "torch": torch.__version__,
    }
    os.makedirs(args.out_dir, exist_ok=True)
    wpath = os.path.join(args.out_dir, f"{args.name}.safetensors")
    write_safetensors(wpath, tensors, meta)
    lpath = os.path.join(args.out_dir, f"{args.name}_logits.safetensors")
    write_safetensors(lpath, [("images", xt[:args.check]), ("labels", yt[:args.check].astype(np.float32)),
                              ("logits", check_logits.astype(np.float64)),
                              ("indices", np.arange(args.check, dtype=np.float32))],
                      {"scene_seed": args.scene_seed, "split": "test", "model": f"{args.name}.safetensors"})
    print(f"wrote {wpath} ({os.path.getsize(wpath)} bytes) and {lpath} ({os.path.getsize(lpath)} bytes)")


if __name__ == "__main__":
    main()
