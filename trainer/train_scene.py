#!/usr/bin/env python3
"""Trains the scene classifier (ground photo -> terrain class of ground/CLASS_MAP.csv, plus embedding).

Label cleaning: Mini-Places has real label noise (people, close-ups, tents). After
--clean-after epochs the model scores every training photo without augmentation; in each
noisy source class the --drop-percent photos whose own label gets the lowest probability are
removed (the small-loss criterion: early in training, before memorisation, a network fits
clean examples first). Exact duplicate photos and near-uniform frames are removed up front.
What was removed, per source class, is written to the result file.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.classifier import ClassifierConfig, predict, train_classifier  # noqa: E402
from groundview.common import SCENE_CLASSES, base_parser, setup, write_json  # noqa: E402
from groundview.data import channel_stats, class_weights, data_root, ImageSet, load_ground, small_loss_keep, split_masks, static_clean  # noqa: E402
from groundview.metrics import classification_report  # noqa: E402
from groundview.models import SmallResNet  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402


def small_loss_clean(model, train: ImageSet, cfg, device, noisy_prefixes: list[str], drop_percent: float) -> tuple[np.ndarray, dict]:
    probs, _ = predict(model, train.images, cfg, device)
    return small_loss_keep(train, probs[np.arange(len(train)), train.labels], noisy_prefixes, drop_percent)


def source_labels(s: ImageSet) -> np.ndarray:
    """Index of each photo's source class (dataset/folder) among all source classes present."""
    names = sorted(set(s.sources))
    return np.array([names.index(src) for src in s.sources], dtype=np.int64)


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--epochs", type=int, default=24)
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--cache-size", type=int, default=80)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--clean-after", type=int, default=4, help="epochs before small-loss cleaning (0: none)")
    p.add_argument("--drop-percent", type=float, default=10.0)
    p.add_argument("--noisy-sources", default="miniplaces/", help="comma-separated source prefixes to clean")
    p.add_argument("--exclude-source", default="", help="train without this dataset (e.g. intel6) and test on it")
    p.add_argument("--class-weight-power", type=float, default=0.5,
                   help="loss weights (1/class frequency)^power: 1 balanced, 0.5 square root, 0 none")
    p.add_argument("--aux-weight", type=float, default=0.5,
                   help="weight of the auxiliary loss on the source class (e.g. canyon inside mountain); 0: none")
    p.add_argument("--grey", type=float, default=0.1, help="probability of a greyscale training photo")
    p.add_argument("--name", default="scene")
    args = p.parse_args(argv)
    device = setup(args)
    runs, data = Path(args.runs), data_root(args)
    if args.dry_run:
        args.epochs, args.cache_size, args.clean_after = 2, 40, 1
    ds = load_ground(data, args.cache_size, cache_dir(runs))
    tr_mask, va_mask = split_masks(ds)
    if not va_mask.any():
        va_mask = tr_mask
    excluded = np.array([s.startswith(args.exclude_source + "/") for s in ds.sources]) if args.exclude_source else np.zeros(len(ds), bool)
    train, val = ds.subset(tr_mask & ~excluded), ds.subset(va_mask & ~excluded)
    keep, static = static_clean(train)
    train = train.subset(keep)
    print(f"[{args.name}] train={len(train)} val={len(val)} static-clean={static} device={device}", flush=True)
    cfg = ClassifierConfig(args.name, SCENE_CLASSES, args.input_size, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
                           epochs=args.epochs, batch=args.batch, lr=args.lr, aug_scale=(0.45, 1.0),
                           rot90=False, vflip=False, colour=0.2, grey=args.grey,
                           aux_weight=args.aux_weight, max_steps_per_epoch=2 if args.dry_run else None)
    cfg.mean, cfg.std = channel_stats(train.images, 4000)
    gen = torch.Generator().manual_seed(args.seed)
    model = SmallResNet(len(SCENE_CLASSES))

    def weights(s: ImageSet) -> torch.Tensor:
        return class_weights(s.labels, len(SCENE_CLASSES), args.class_weight_power)

    cleaning = {"static": static, "smallLoss": {}, "dropPercent": args.drop_percent, "sources": args.noisy_sources}
    if args.clean_after > 0:
        warm = ClassifierConfig(**{**cfg.__dict__, "name": args.name + "-warmup", "epochs": args.clean_after,
                                   "on_epoch_end": []})
        train_classifier(model, train, val, warm, device, gen, weights(train), source_labels(train))
        keep, removed = small_loss_clean(model, train, cfg, device, args.noisy_sources.split(","), args.drop_percent)
        cleaning["smallLoss"] = removed
        train = train.subset(keep)
        print(f"[{args.name}] small-loss cleaning removed {sum(removed.values())}: {removed}", flush=True)
        model = SmallResNet(len(SCENE_CLASSES))      # retrain from scratch on the cleaned set
    hist = train_classifier(model, train, val, cfg, device, gen, weights(train), source_labels(train))
    probs, emb = predict(model, val.images, cfg, device)
    report = classification_report(val.labels, probs.argmax(1), SCENE_CLASSES)
    per_source = {}
    for src in sorted(set(val.sources)):
        m = np.array(val.sources) == src
        per_source[src] = round(float((probs[m].argmax(1) == val.labels[m]).mean()), 4)
    result = {"classes": SCENE_CLASSES, "inputSize": args.input_size, "mean": cfg.mean, "std": cfg.std,
              "recipe": {"epochs": args.epochs, "cacheSize": args.cache_size, "classWeightPower": args.class_weight_power,
                         "auxSourceWeight": args.aux_weight, "grey": args.grey, "cleanAfter": args.clean_after},
              "embedDim": model.embed_dim, "cleaning": cleaning,
              "metrics": {"validation": report, "validationTop1BySource": per_source, "training": hist},
              "split": {"train": len(train), "val": len(val), "rule": "sha1(relative path) % 100 < 15 -> val"},
              "dryRun": args.dry_run}
    print(f"[{args.name}] val top1={report['top1']:.4f} macroF1={report['macroF1']:.4f}", flush=True)
    if args.exclude_source:
        held = ds.subset(excluded)
        hp, _ = predict(model, held.images, cfg, device)
        present = sorted(set(held.labels.tolist()))
        result["outOfSource"] = {"dataset": args.exclude_source, "classesShared": [SCENE_CLASSES[i] for i in present],
                                 **classification_report(held.labels, hp.argmax(1), SCENE_CLASSES)}
        print(f"[{args.name}] out-of-source {args.exclude_source}: top1={result['outOfSource']['top1']:.4f}", flush=True)
    out = runs / args.name
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "model.pt")
    write_json(out / "result.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
