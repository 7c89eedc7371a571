#!/usr/bin/env python3
"""Chooses and packs the ground photos the landscape GAN learns from.

Photos: the source classes in groundview.gan.GAN_SOURCES (outdoor places a person could stand
in on an RSSCN7 terrain), training split only (the validation split is held back for the
quality measures), exact duplicates and near-uniform frames dropped, and, in every
Mini-Places class (documented label noise), the --drop-percent photos whose own label the
shipped scene classifier finds least likely (small-loss criterion).

Each photo's condition is a distribution over the scene classes: half its label, half the
scene classifier's probabilities restricted to the generator's classes, so that photos that
show two things (a coast with hills) teach the generator what a mixture looks like.

Packs are .npz files of the original JPEG bytes (no re-encoding), labels and conditions,
each under --pack-mb so that one can travel to a GPU machine with a run (64 MiB a call);
train-00 is a random sample of all of them, so a run on it alone sees every class.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import SCENE_CLASSES, base_parser, read_json, setup, write_json  # noqa: E402
from groundview.data import data_root, load_ground, normalise, resize, small_loss_keep, split_of, static_clean, to_tensor  # noqa: E402
from groundview.gan import GAN_SCENES, GAN_SOURCES, scene_onehot  # noqa: E402
from groundview.models import SmallResNet  # noqa: E402
from groundview.onnx_import import load_folded_onnx  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402


def scene_probabilities(images: np.ndarray, models_dir: Path, device) -> np.ndarray:
    """The shipped scene classifier's probabilities for uint8 NHWC photos."""
    spec = read_json(models_dir / "manifest.json")["models"]["sceneClassifier"]
    size = spec["input"]["size"][0]
    model = load_folded_onnx(SmallResNet(len(SCENE_CLASSES)), models_dir / spec["file"], size).to(device).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 512):
            x = normalise(resize(to_tensor(images[i:i + 512], device), size), spec["input"]["mean"], spec["input"]["std"])
            out.append(torch.softmax(model(x), 1).cpu().numpy())
    return np.concatenate(out)


def conditions(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    keep = np.array([s in GAN_SCENES for s in SCENE_CLASSES], dtype=np.float32)
    q = probs * keep
    q = q / np.maximum(q.sum(1, keepdims=True), 1e-8)
    return (0.5 * scene_onehot(labels) + 0.5 * q).astype(np.float32)


def write_packs(out: Path, prefix: str, data_root: Path, paths: list[str], labels, conds, sources, pack_mb: float) -> list[dict]:
    """Packs in the given order, a new file whenever the next photo would pass pack_mb."""
    names = sorted(set(sources))
    packs, start = [], 0
    limit = int(pack_mb * 1e6)
    while start < len(paths):
        blobs, size, end = [], 0, start
        while end < len(paths):
            b = (data_root / paths[end]).read_bytes()
            if blobs and size + len(b) > limit:
                break
            blobs.append(b)
            size += len(b)
            end += 1
        offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
        f = out / f"{prefix}-{len(packs):02d}.npz"
        np.savez(f, jpeg=np.frombuffer(b"".join(blobs), dtype=np.uint8), offsets=offsets,
                 labels=np.asarray(labels[start:end], dtype=np.int16), cond=np.asarray(conds[start:end], dtype=np.float32),
                 source=np.array([names.index(s) for s in sources[start:end]], dtype=np.int16), source_names=np.array(names, dtype="S"),
                 paths=np.array(paths[start:end], dtype="S"))
        packs.append({"file": f.name, "photos": end - start, "bytes": f.stat().st_size})
        start = end
    return packs


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--models", default="models", help="where the shipped scene classifier is (its manifest)")
    p.add_argument("--out", default=None, help="folder for the packs (default RUNS/gan/data)")
    p.add_argument("--drop-percent", type=float, default=10.0)
    p.add_argument("--pack-mb", type=float, default=24.0)
    p.add_argument("--val-photos", type=int, default=1000, help="held-back photos packed for the quality measures")
    args = p.parse_args(argv)
    device = setup(args)
    runs, data = Path(args.runs), data_root(args)
    sources_allowed = set(GAN_SOURCES)
    if args.dry_run:
        sources_allowed = None
    out = Path(args.out) if args.out else runs / "gan" / "data"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.npz"):
        old.unlink()
    ds = load_ground(data, 128, cache_dir(runs))
    chosen = np.array([sources_allowed is None or s in sources_allowed for s in ds.sources])
    split = np.array([split_of(p) for p in ds.paths])
    train, val = ds.subset(chosen & (split == "train")), ds.subset(chosen & (split == "val"))
    if len(val) == 0:
        val = train
    keep, static = static_clean(train)
    train = train.subset(keep)
    vkeep, _ = static_clean(val)
    val = val.subset(vkeep)
    probs = scene_probabilities(train.images, Path(args.models), device)
    keep, removed = small_loss_keep(train, probs[np.arange(len(train)), train.labels], ["miniplaces/"], args.drop_percent)
    train, probs = train.subset(keep), probs[keep]
    cond = conditions(train.labels, probs)
    vcond = conditions(val.labels, scene_probabilities(val.images, Path(args.models), device))
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(train))
    vorder = rng.permutation(len(val))[: args.val_photos]
    take = lambda seq, o: [seq[i] for i in o]  # noqa: E731
    packs = write_packs(out, "train", data, take(train.paths, order), train.labels[order], cond[order],
                        take(train.sources, order), args.pack_mb)
    vpacks = write_packs(out, "val", data, take(val.paths, vorder), val.labels[vorder], vcond[vorder],
                         take(val.sources, vorder), 1e9)
    summary = {"train": int(len(train)), "val": int(len(vorder)), "packs": packs, "valPacks": vpacks,
               "cleaning": {"static": static, "smallLoss": removed, "dropPercent": args.drop_percent},
               "perScene": {SCENE_CLASSES[k]: int(v) for k, v in sorted(Counter(train.labels.tolist()).items())},
               "sources": sorted(set(train.sources)), "dryRun": args.dry_run}
    write_json(out / "summary.json", summary)
    print(f"[gan-data] train={len(train)} val={len(vorder)} packs={[p['file'] for p in packs]} "
          f"removed={sum(removed.values())} static={static}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
