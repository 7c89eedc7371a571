#!/usr/bin/env python3
"""Trains the terrain grid head: per-place terrain inside a tile (issue 13).

The shipped terrain classifier (read back from models/terrainClassifier.onnx) stays frozen;
a light decoder (groundview/grid.py GridHead) learns to refine its class activation map from
the trunk's stride-4/8/16 features, on tiles composed on the fly from blobs of training
scenes of different terrains (random blob count, block size and offset; scenes turned and
flipped; colour jitter). The tile's probabilities are the classifier's, unchanged.

Every --eval-every steps the grid is scored on mosaics of validation scenes (the mean IoU that
eval_terrain_grid.py reports); the best weights are kept in RUNS/terrain_grid/head.pt and
export.py --grid (or this script's --export) writes the classifier with both outputs.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import TERRAIN_CLASSES, base_parser, read_json, setup, write_json  # noqa: E402
from groundview.data import data_root, load_terrain, split_masks  # noqa: E402
from groundview.grid import GridHead, clean_grid, prepare_tiles, random_tiles  # noqa: E402
from groundview.models import SmallResNet  # noqa: E402
from groundview.mosaic import iou_by_class, make_mosaic  # noqa: E402
from groundview.onnx_import import load_folded_onnx  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402


def evaluate(head: GridHead, val_images, val_labels, spec, device, mosaics: int, seed: int, min_cells: int) -> dict:
    rng = np.random.default_rng(seed)
    size = spec["input"]["size"][0]
    n = len(TERRAIN_CLASSES)
    cells = head.cells
    raw, cleaned, truth = [], [], []
    head.eval()
    for _ in range(mosaics):
        m = make_mosaic(val_images, val_labels, n, rng)
        tiles = m.image.shape[0] // m.tile
        x = prepare_tiles(np.stack([m.tile_image(ty, tx) for ty in range(tiles) for tx in range(tiles)]), size,
                    spec["input"]["mean"], spec["input"]["std"], device)
        with torch.no_grad():
            probs = head(x)[1].cpu().numpy()
        full_r = np.empty((tiles * cells, tiles * cells), dtype=np.int64)
        full_c = np.empty_like(full_r)
        for i in range(tiles * tiles):
            ty, tx = divmod(i, tiles)
            sl = (slice(ty * cells, (ty + 1) * cells), slice(tx * cells, (tx + 1) * cells))
            full_r[sl] = probs[i].argmax(0)
            full_c[sl] = clean_grid(probs[i], min_cells=min_cells)[0]
        raw.append(full_r)
        cleaned.append(full_c)
        truth.append(m.truth_cells(cells))
    t = np.stack(truth)
    r = iou_by_class(np.stack(raw), t, n)
    c = iou_by_class(np.stack(cleaned), t, n)
    return {"meanIoU": float(np.mean(list(r.values()))), "meanIoUCleaned": float(np.mean(list(c.values()))),
            "perTerrainCleaned": {TERRAIN_CLASSES[k]: round(v, 4) for k, v in c.items()}}


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--models", default="models")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--cells", type=int, default=16)
    p.add_argument("--min-cells", type=int, default=4)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-mosaics", type=int, default=12)
    p.add_argument("--resume", action="store_true", help="continue from RUNS/terrain_grid/head.pt")
    p.add_argument("--tune-branch", action="store_true", help="also fine-tune a copy of the trunk's last two stages for the grid")
    p.add_argument("--branch-lr-scale", type=float, default=0.25, help="the copied stages' learning rate, relative to --lr")
    args = p.parse_args(argv)
    device = setup(args)
    runs, models = Path(args.runs), Path(args.models)
    data = data_root(args)
    if args.dry_run:
        args.steps, args.batch, args.eval_every, args.eval_mosaics = 4, 4, 2, 1
    manifest = read_json(models / "manifest.json")
    spec = manifest["models"]["terrainClassifier"]
    size = spec["input"]["size"][0]
    out = runs / "terrain_grid"
    out.mkdir(parents=True, exist_ok=True)
    # The classifier without a grid that the head is trained on, kept beside it (the export replaces
    # models/terrainClassifier.onnx with one that has the grid output).
    base = out / "base.onnx"
    if not base.exists():
        if "grid" in spec["outputs"]:
            raise SystemExit(f"{models / spec['file']} already has a grid output and {base} is missing: put the classifier without one there")
        shutil.copyfile(models / spec.get("floatFile", spec["file"]), base)
    model = load_folded_onnx(SmallResNet(len(TERRAIN_CLASSES)), base, size)
    head = GridHead(model, args.cells, len(TERRAIN_CLASSES), tune_branch=args.tune_branch).to(device)
    prior_steps = 0
    if args.resume and (out / "train.json").exists():
        prev = read_json(out / "train.json")
        prior_steps = prev.get("totalSteps", prev["history"][-1]["step"] if prev.get("history") else 0)
    if args.resume and (out / "head.pt").exists():
        # A decoder trained without the tuned branch resumes into one with it (the branch starts as the trunk's copy).
        missing, unexpected = head.load_state_dict(torch.load(out / "head.pt", map_location=device), strict=False)
        if unexpected or any(not k.startswith("branch") for k in missing):
            raise SystemExit(f"{out / 'head.pt'} does not fit: missing {missing}, unexpected {unexpected}")
    ds = load_terrain(data, 224 if not args.dry_run else 48, cache_dir(runs))
    tr, va = split_masks(ds)
    train, val = ds.subset(tr), ds.subset(va if va.any() else tr)
    tile = 256 if not args.dry_run else 64
    params = [q for q in head.parameters() if q.requires_grad]
    branch = {id(q) for m in (head.branch, getattr(head, "branch_head", None)) if m is not None for q in m.parameters()}
    groups = [{"params": [q for q in params if id(q) not in branch], "lr": args.lr}]
    if branch:
        groups.append({"params": [q for q in params if id(q) in branch], "lr": args.lr * args.branch_lr_scale})
    opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups], total_steps=args.steps, pct_start=0.1)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    print(f"[grid] train scenes={len(train)} val scenes={len(val)} params={sum(q.numel() for q in params)} "
          f"device={device}", flush=True)
    best, history, t0, run_loss = -1.0, [], time.time(), 0.0
    for step in range(1, args.steps + 1):
        head.train()
        imgs, target = random_tiles(train.images, train.labels, len(TERRAIN_CLASSES), rng, args.batch,
                                    tile=tile, cells=args.cells)
        x = prepare_tiles(imgs, size, spec["input"]["mean"], spec["input"]["std"], device, gen, colour=0.2)
        _, logits = head.forward_logits(x)
        loss = F.cross_entropy(logits, torch.from_numpy(target).to(device), label_smoothing=0.05)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        run_loss += loss.item()
        if step % args.eval_every == 0 or step == args.steps:
            res = evaluate(head, val.images, val.labels, spec, device, args.eval_mosaics, args.seed + 1, args.min_cells)
            res.update(step=step, loss=run_loss / args.eval_every, seconds=round(time.time() - t0, 1))
            run_loss = 0.0
            history.append(res)
            print(f"[grid] step {step} loss {res['loss']:.3f} val mosaic mIoU {res['meanIoU']:.3f} "
                  f"cleaned {res['meanIoUCleaned']:.3f} ({res['seconds']:.0f}s)", flush=True)
            if res["meanIoUCleaned"] > best:
                best = res["meanIoUCleaned"]
                torch.save(head.state_dict(), out / "head.pt")
            write_json(out / "train.json", {"cells": args.cells, "minCells": args.min_cells, "tuneBranch": args.tune_branch,
                                             "totalSteps": prior_steps + step, "history": history,
                                             "best": best, "classifierVersion": manifest["version"],
                                             "dryRun": bool(args.dry_run)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
