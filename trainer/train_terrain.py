#!/usr/bin/env python3
"""Trains the terrain classifier (aerial tile -> grass/field/industrial/water/forest/residential/parking)."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.classifier import ClassifierConfig, predict, train_classifier  # noqa: E402
from groundview.common import TERRAIN_CLASSES, base_parser, setup, write_json  # noqa: E402
from groundview.data import channel_stats, load_terrain, make_synthetic_data, split_masks  # noqa: E402
from groundview.metrics import classification_report  # noqa: E402
from groundview.models import SmallResNet  # noqa: E402

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
    args = p.parse_args(argv)
    device = setup(args)
    runs = Path(args.runs)
    data = Path(args.data)
    if args.dry_run:
        data = make_synthetic_data(Path(tempfile.mkdtemp(prefix="gv-dry-")))
        args.epochs, args.cache_size = 1, 48
    ds = load_terrain(data, args.cache_size, runs / "cache")
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
    hist = train_classifier(model, train, val, cfg, device, gen)
    probs, _ = predict(model, val.images, cfg, device)
    report = classification_report(val.labels, probs.argmax(1), TERRAIN_CLASSES)
    print(f"[terrain] val top1={report['top1']:.4f} macroF1={report['macroF1']:.4f}", flush=True)
    out = runs / "terrain"
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "model.pt")
    write_json(out / "result.json", {
        "classes": TERRAIN_CLASSES, "inputSize": args.input_size, "cacheSize": args.cache_size, "mean": cfg.mean, "std": cfg.std,
        "groundResolutionM": SOURCE_RESOLUTION_M, "sourceSizePx": SOURCE_SIZE_PX,
        "footprintM": SOURCE_RESOLUTION_M * SOURCE_SIZE_PX,
        "metrics": {"validation": report, "training": hist}, "dryRun": args.dry_run,
        "split": {"train": len(train), "val": len(val), "rule": "sha1(relative path) % 100 < 15 -> val"},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
