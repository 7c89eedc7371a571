#!/usr/bin/env python3
"""Trains the judge: an independent scene classifier (groundview.models.JudgeNet, another
architecture and seed than the scene classifier) whose only use is to measure generated
landscapes. Neither the generator nor the encoder trains against it, so its verdicts (terrain
consistency) and its feature space (Fréchet distance, KID) are measures they never optimised.
Trained on the ground photos' training split, scored on the validation split.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.classifier import ClassifierConfig, predict, train_classifier  # noqa: E402
from groundview.common import SCENE_CLASSES, base_parser, setup, write_json  # noqa: E402
from groundview.data import channel_stats, class_weights, data_root, load_ground, split_masks, static_clean  # noqa: E402
from groundview.metrics import classification_report  # noqa: E402
from groundview.models import JudgeNet  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch", type=int, default=128)
    p.set_defaults(seed=777)
    args = p.parse_args(argv)
    device = setup(args)
    runs, data = Path(args.runs), data_root(args)
    if args.dry_run:
        args.epochs = 1
    ds = load_ground(data, 128, cache_dir(runs))
    tr, va = split_masks(ds)
    train, val = ds.subset(tr), ds.subset(va if va.any() else tr)
    keep, static = static_clean(train)
    train = train.subset(keep)
    cfg = ClassifierConfig("judge", SCENE_CLASSES, args.input_size, mean=(0.5,) * 3, std=(0.25,) * 3,
                           epochs=args.epochs, batch=args.batch, lr=args.lr, aug_scale=(0.45, 1.0), rot90=False,
                           vflip=False, colour=0.2, grey=0.1, max_steps_per_epoch=2 if args.dry_run else None)
    cfg.mean, cfg.std = channel_stats(train.images, 4000)
    print(f"[judge] train={len(train)} val={len(val)} static-clean={static} device={device}", flush=True)
    model = JudgeNet(len(SCENE_CLASSES))
    gen = torch.Generator().manual_seed(args.seed)
    hist = train_classifier(model, train, val, cfg, device, gen, class_weights(train.labels, len(SCENE_CLASSES), 0.5))
    probs, _ = predict(model, val.images, cfg, device)
    report = classification_report(val.labels, probs.argmax(1), SCENE_CLASSES)
    print(f"[judge] val top1={report['top1']:.4f} macroF1={report['macroF1']:.4f}", flush=True)
    out = runs / "judge"
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "model.pt")
    write_json(out / "result.json", {"classes": SCENE_CLASSES, "inputSize": args.input_size, "mean": cfg.mean,
                                     "std": cfg.std, "embedDim": model.embed_dim, "architecture": "JudgeNet",
                                     "metrics": {"validation": report, "training": hist}, "seed": args.seed,
                                     "dryRun": args.dry_run})
    return 0


if __name__ == "__main__":
    sys.exit(main())
