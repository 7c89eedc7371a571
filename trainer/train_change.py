#!/usr/bin/env python3
"""Trains the change detector (issue 14): where, between two dates of a tile, the terrain changed.

The shipped terrain classifier (read back from models/terrainClassifier.onnx) stays frozen; the
siamese ChangeHead (groundview/change.py) learns from pairs of training tiles whose second date
is the first re-shot (light, colour, gamma, blur, JPEG-like softening, a few pixels of
misregistration) and, in most pairs, partly or wholly another terrain. Every --eval-every steps it
is scored on fixed pairs of validation scenes: precision, recall and the share of the area of
colour-only pairs flagged, per threshold. The threshold kept is the one with the best F1 among
those that flag at most --max-false of the colour-only area; the best weights by that F1 stay in
RUNS/change/head.pt, and --export writes models/changeDetector.onnx and its manifest entry.

Checkpoints every --eval-every steps; --resume continues from RUNS/change/head.pt.
"""
from __future__ import annotations

import base64
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.change import ChangeHead, change_pairs, change_scores  # noqa: E402
from groundview.common import TERRAIN_CLASSES, base_parser, read_json, setup, write_json  # noqa: E402
from groundview.data import data_root, load_terrain, split_masks  # noqa: E402
from groundview.grid import prepare_tiles  # noqa: E402
from groundview.models import SmallResNet  # noqa: E402
from groundview.onnx_import import load_folded_onnx  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402

def b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.detach().numpy().astype("<f4").tobytes()).decode()


THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.96, 0.05)]


def choose(scores: list[dict], max_false: float) -> dict:
    """The threshold with the best F1 among those flagging at most max_false of the colour-only
    area (the highest threshold when none does)."""
    ok = [s for s in scores if s["falseChangeShare"] <= max_false]
    return max(ok, key=lambda s: s["f1"]) if ok else scores[-1]


def predict(head: ChangeHead, a: np.ndarray, b: np.ndarray, spec, device, batch: int = 32) -> np.ndarray:
    size, mean, std = spec["input"]["size"][0], spec["input"]["mean"], spec["input"]["std"]
    out = []
    head.eval()
    with torch.no_grad():
        for i in range(0, len(a), batch):
            xa = prepare_tiles(a[i:i + batch], size, mean, std, device)
            xb = prepare_tiles(b[i:i + batch], size, mean, std, device)
            out.append(head(xa, xb).cpu().numpy())
    return np.concatenate(out)


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--models", default="models")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch", type=int, default=24)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-pairs", type=int, default=240)
    p.add_argument("--max-false", type=float, default=0.02, help="largest share of a colour-only pair's area flagged")
    p.add_argument("--resume", action="store_true", help="continue from RUNS/change/head.pt")
    p.add_argument("--export", action="store_true", help="only write models/changeDetector.onnx from RUNS/change/head.pt")
    args = p.parse_args(argv)
    device = setup(args)
    runs, models = Path(args.runs), Path(args.models)
    if args.dry_run:
        args.steps, args.batch, args.eval_every, args.eval_pairs = 4, 4, 2, 8
    manifest = read_json(models / "manifest.json")
    spec = manifest["models"]["terrainClassifier"]
    size = spec["input"]["size"][0]
    cells = spec.get("grid", {}).get("cells", 16)
    out = runs / "change"
    out.mkdir(parents=True, exist_ok=True)
    model = load_folded_onnx(SmallResNet(len(TERRAIN_CLASSES)), models / spec.get("floatFile", spec["file"]), size)
    head = ChangeHead(model, cells=cells, width=args.width).to(device)
    if args.export:
        return export(head, out, models, manifest, spec, args)
    prior_steps, history, best = 0, [], {"f1": -1.0}
    if args.resume and (out / "head.pt").exists():
        head.load_state_dict(torch.load(out / "head.pt", map_location=device))
        prev = read_json(out / "train.json")
        prior_steps, history, best = prev["totalSteps"], prev["history"], prev["best"]
    data = data_root(args)
    ds = load_terrain(data, 224 if not args.dry_run else 48, cache_dir(runs))
    tr, va = split_masks(ds)
    train, val = ds.subset(tr), ds.subset(va if va.any() else tr)
    tile = 256 if not args.dry_run else 64
    n = len(TERRAIN_CLASSES)
    # Fixed validation pairs: a third colour-only (the false-change guard), the rest with change.
    vrng = np.random.default_rng(args.seed + 77)
    va_a, va_b, va_t = change_pairs(val.images, val.labels, n, vrng, args.eval_pairs, tile=tile, cells=cells)
    jitter_only = ~va_t.reshape(len(va_t), -1).any(1)
    params = [q for q in head.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    rng = np.random.default_rng(args.seed + prior_steps)
    print(f"[change] train scenes={len(train)} val pairs={len(va_t)} ({int(jitter_only.sum())} colour-only) "
          f"params={sum(q.numel() for q in params)} device={device}", flush=True)
    t0, run_loss = time.time(), 0.0
    for step in range(1, args.steps + 1):
        head.train()
        a, b, truth = change_pairs(train.images, train.labels, n, rng, args.batch, tile=tile, cells=cells)
        if rng.random() < 0.5:  # the head is symmetric in the dates; so is the data
            a, b = b, a
        xa = prepare_tiles(a, size, spec["input"]["mean"], spec["input"]["std"], device)
        xb = prepare_tiles(b, size, spec["input"]["mean"], spec["input"]["std"], device)
        logits = head.forward_logits(xa, xb)
        loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(truth).float().to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        run_loss += loss.item()
        if step % args.eval_every == 0 or step == args.steps:
            prob = predict(head, va_a, va_b, spec, device)
            scores = change_scores(prob, va_t, jitter_only, THRESHOLDS)
            pick = choose(scores, args.max_false)
            res = {"step": prior_steps + step, "loss": round(run_loss / args.eval_every, 4),
                   "seconds": round(time.time() - t0, 1), "chosen": pick}
            run_loss = 0.0
            history.append(res)
            print(f"[change] step {res['step']} loss {res['loss']:.3f} threshold {pick['threshold']:.2f} "
                  f"P {pick['precision']:.3f} R {pick['recall']:.3f} F1 {pick['f1']:.3f} "
                  f"false {pick['falseChangeShare']:.3f} ({res['seconds']:.0f}s)", flush=True)
            if pick["f1"] > best["f1"]:
                best = pick
                torch.save(head.state_dict(), out / "head.pt")
                write_json(out / "best.json", {"step": res["step"], "scores": scores, "chosen": pick})
            write_json(out / "train.json", {"totalSteps": prior_steps + step, "history": history,
                                             "best": best,
                                             "classifierVersion": manifest["version"], "width": args.width,
                                             "maxFalse": args.max_false, "dryRun": bool(args.dry_run)})
    return 0


def export(head: ChangeHead, out: Path, models: Path, manifest: dict, spec: dict, args) -> int:
    head.load_state_dict(torch.load(out / "head.pt", map_location="cpu"))
    head.eval()
    best = read_json(out / "best.json")
    train = read_json(out / "train.json")
    size = spec["input"]["size"][0]
    x = torch.zeros(1, 3, size, size)
    path = models / "changeDetector.onnx"
    torch.onnx.export(head, (x, x), str(path), input_names=["before", "after"], output_names=["change"],
                      dynamic_axes={"before": {0: "n"}, "after": {0: "n"}, "change": {0: "n"}}, opset_version=13,
                      do_constant_folding=True)
    data = path.read_bytes()
    # The golden pair: two prepared tiles (a seeded pattern and a darker, shifted copy of it).
    g = torch.Generator().manual_seed(7)
    before = torch.randn(2, 3, size, size, generator=g)
    after = torch.roll(before * 0.8, shifts=3, dims=3)
    with torch.no_grad():
        change = head(before, after)
    golden = {"inputs": [{"name": "before", "shape": list(before.shape), "data": b64(before)},
                         {"name": "after", "shape": list(after.shape), "data": b64(after)}],
              "outputs": {"change": {"shape": list(change.shape), "data": b64(change)}}}
    (models / "golden").mkdir(exist_ok=True)
    write_json(models / "golden" / "changeDetector.json", golden)
    manifest["models"]["changeDetector"] = {
        "file": path.name, "golden": "golden/changeDetector.json", "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "input": dict(spec["input"], names=["before", "after"]),
        "outputs": {"change": "change"}, "cells": head.cells,
        "threshold": best["chosen"]["threshold"],
        "metrics": {"validationPairs": {k: best["chosen"][k] for k in ("precision", "recall", "f1", "falseChangeShare")},
                    "maxFalseChangeShare": train["maxFalse"], "step": best["step"]},
        "classifierVersion": train["classifierVersion"],
    }
    manifest["totalBytes"] = sum((models / m["file"]).stat().st_size for m in manifest["models"].values() if "file" in m)
    write_json(models / "manifest.json", manifest)
    print(f"[change] wrote {path} ({len(data)} bytes), threshold {best['chosen']['threshold']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
