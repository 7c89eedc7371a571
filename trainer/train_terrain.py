#!/usr/bin/env python3
"""Trains the terrain classifier (aerial tile -> grass/field/industrial/water/forest/residential/parking).

Train-test resolution discrepancy (Touvron et al., "Fixing the train-test resolution
discrepancy", NeurIPS 2019): random resized crops make things look larger in training than in
a whole tile resized to the same input size, so a network trained at N px can do better on
tiles served at more than N px (a global-pooling network takes any size). --serve-sizes scores
the trained network on the validation tiles at each listed size and serves it at the best one;
every size's score is recorded, and the manifest's input size is the one chosen.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.classifier import ClassifierConfig, predict, train_classifier  # noqa: E402
from groundview.common import TERRAIN_CLASSES, base_parser, setup, write_json  # noqa: E402
from groundview.data import channel_stats, data_root, load_terrain, split_masks  # noqa: E402
from groundview.metrics import classification_report  # noqa: E402
from groundview.models import SmallResNet  # noqa: E402
from groundview.onnx_import import load_folded_onnx  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402

# RSSCN7 images are 224 px at roughly 0.5-4 m/px (Google Earth, several scales); ~1 m/px is
# typical, so the model expects a square of about 224 m of ground across its input.
SOURCE_RESOLUTION_M = 1.0
SOURCE_SIZE_PX = 224


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--cache-size", type=int, default=112, help="size the images are decoded to once")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--serve-sizes", default="", help="comma-separated input sizes to score on validation; serve at the best "
                                                       "(default: the training input size)")
    p.add_argument("--init", default="", help="start from these weights: a state dict (.pt) or an exported classifier (.onnx, "
                                                 "BatchNorm folded: for evaluation and re-export); --epochs 0 trains nothing")
    args = p.parse_args(argv)
    device = setup(args)
    runs = Path(args.runs)
    data = data_root(args)
    if args.dry_run:
        args.epochs, args.cache_size = min(args.epochs, 1), 48
    ds = load_terrain(data, args.cache_size, cache_dir(runs))
    tr_mask, va_mask = split_masks(ds)
    train, val = ds.subset(tr_mask), ds.subset(va_mask if va_mask.any() else tr_mask)
    print(f"[terrain] train={len(train)} val={len(val)} device={device}", flush=True)
    cfg = ClassifierConfig("terrain", TERRAIN_CLASSES, args.input_size, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
                           epochs=args.epochs, batch=args.batch, lr=args.lr, aug_scale=(0.3, 1.0),
                           rot90=True, vflip=True, colour=0.25, max_steps_per_epoch=2 if args.dry_run else None)
    # The mean/std are computed from the training images, not assumed.
    cfg.mean, cfg.std = channel_stats(train.images, 2000)
    gen = torch.Generator().manual_seed(args.seed)
    model = SmallResNet(len(TERRAIN_CLASSES))
    if args.init.endswith(".onnx"):
        load_folded_onnx(model, args.init, args.input_size)
    elif args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu"))
    hist = train_classifier(model, train, val, cfg, device, gen) if args.epochs > 0 else {"history": []}
    # Scores at each serving size (the training size when none are listed); the chosen size's
    # report is the model's.
    listed = [int(v) for v in args.serve_sizes.split(",") if v.strip()]
    reports = {}
    for size in listed or [args.input_size]:
        probs, _ = predict(model, val.images, ClassifierConfig(**{**cfg.__dict__, "input_size": size}), device)
        reports[size] = classification_report(val.labels, probs.argmax(1), TERRAIN_CLASSES)
        if listed:
            print(f"[terrain] served at {size} px: val top1={reports[size]['top1']:.4f}", flush=True)
    sweep = {size: r["top1"] for size, r in reports.items()} if listed else {}
    cfg.input_size = max(reports, key=lambda k: (reports[k]["top1"], -abs(k - args.input_size)))
    report = reports[cfg.input_size]
    print(f"[terrain] val top1={report['top1']:.4f} macroF1={report['macroF1']:.4f}", flush=True)
    out = runs / "terrain"
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "model.pt")
    write_json(out / "result.json", {
        "classes": TERRAIN_CLASSES, "inputSize": cfg.input_size, "trainSize": args.input_size, "cacheSize": args.cache_size,
        "mean": cfg.mean, "std": cfg.std, "init": args.init or None,
        "recipe": {"epochs": args.epochs}, "servedSizeSweep": {str(k): v for k, v in sweep.items()},
        "groundResolutionM": SOURCE_RESOLUTION_M, "sourceSizePx": SOURCE_SIZE_PX,
        "footprintM": SOURCE_RESOLUTION_M * SOURCE_SIZE_PX,
        "metrics": {"validation": report, "training": hist}, "dryRun": args.dry_run,
        "split": {"train": len(train), "val": len(val), "rule": "sha1(relative path) % 100 < 15 -> val"},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
