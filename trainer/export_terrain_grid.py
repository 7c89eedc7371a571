#!/usr/bin/env python3
"""Exports the terrain classifier with its terrain grid (issue 13) into models/.

Reads the shipped classifier back from models/terrainClassifier.onnx, adds the grid head
trained by train_terrain_grid.py (RUNS/terrain_grid/head.pt), and writes one ONNX file with
two outputs: `probabilities` (N, C), the shipped classifier's (checked here), and `grid`
(N, C, cells, cells). Measures the grid on --mosaics mosaics of validation scenes (mean IoU
over terrains of the cleaned grid, and of whole tiles for comparison), writes the golden pair,
checks it in onnxruntime-node, and updates models/manifest.json: the terrain classifier's
outputs, `grid` (cells, minCells, metrics) and the model version (date + hash of the four ONNX
files, as export.py computes it). The other models are left as they are.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import TERRAIN_CLASSES, base_parser, read_json, setup, write_json  # noqa: E402
from groundview.data import data_root, load_terrain, split_masks  # noqa: E402
from groundview.grid import GridHead, clean_grid, prepare_tiles  # noqa: E402
from groundview.models import SmallResNet  # noqa: E402
from groundview.mosaic import iou_by_class, make_mosaic  # noqa: E402
from groundview.onnx_import import load_folded_onnx  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OPSET = 17
ORDER = ["terrainClassifier", "sceneClassifier", "generator", "encoder"]


def b64(a: np.ndarray) -> str:
    import base64
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.float32).tobytes()).decode()


def measure(head: GridHead, val, spec: dict, mosaics: int, seed: int, min_cells: int) -> dict:
    """Mean IoU over terrains on mosaics of validation scenes: cleaned grid, raw grid, whole tiles."""
    rng = np.random.default_rng(seed)
    n, cells = len(TERRAIN_CLASSES), head.cells
    preds = {"cleaned": [], "raw": [], "wholeTile": []}
    truth = []
    head.eval()
    for _ in range(mosaics):
        m = make_mosaic(val.images, val.labels, n, rng)
        t = m.image.shape[0] // m.tile
        x = prepare_tiles(np.stack([m.tile_image(ty, tx) for ty in range(t) for tx in range(t)]), spec["input"]["size"][0],
                    spec["input"]["mean"], spec["input"]["std"], torch.device("cpu"))
        with torch.no_grad():
            probs, grid = head(x)
        probs, grid = probs.numpy(), grid.numpy()
        full = {k: np.empty((t * cells, t * cells), dtype=np.int64) for k in preds}
        for i in range(t * t):
            ty, tx = divmod(i, t)
            sl = (slice(ty * cells, (ty + 1) * cells), slice(tx * cells, (tx + 1) * cells))
            full["cleaned"][sl] = clean_grid(grid[i], min_cells=min_cells)[0]
            full["raw"][sl] = grid[i].argmax(0)
            full["wholeTile"][sl] = probs[i].argmax()
        for k in preds:
            preds[k].append(full[k])
        truth.append(m.truth_cells(cells))
    t = np.stack(truth)
    out = {}
    for k, ps in preds.items():
        ious = iou_by_class(np.stack(ps), t, n)
        out[k] = {"meanIoU": round(float(np.mean(list(ious.values()))), 4),
                  "perTerrain": {TERRAIN_CLASSES[c]: round(v, 4) for c, v in ious.items()}}
    return out


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--models", default=str(REPO / "models"))
    p.add_argument("--mosaics", type=int, default=48)
    p.add_argument("--version", default="")
    args = p.parse_args(argv)
    setup(args)
    models, runs, data = Path(args.models), Path(args.runs), data_root(args)
    if args.dry_run:
        args.mosaics = 1
    manifest = read_json(models / "manifest.json")
    spec = manifest["models"]["terrainClassifier"]
    size = spec["input"]["size"][0]
    if spec.get("floatFile"):
        # A quantized classifier is served: the new float model replaces it (quantize_terrain.py --install again).
        spec["file"], spec["golden"] = spec.pop("floatFile"), spec.pop("floatGolden")
        spec.pop("quantization", None)
        print("[grid-export] the int8 classifier is replaced by the float one: run quantize_terrain.py --install again", flush=True)
    if spec["outputs"].get("grid"):
        # Re-exporting: the head and the probabilities come from the classifier kept beside the head.
        spec["outputs"] = {"probabilities": "probabilities"}
    trained = read_json(runs / "terrain_grid" / "train.json")
    state = torch.load(runs / "terrain_grid" / "head.pt", map_location="cpu")
    tune = any(k.startswith("branch") for k in state)
    # The classifier the head was trained on (train_terrain_grid.py keeps a copy beside the head).
    base_file = runs / "terrain_grid" / "base.onnx"
    base = load_folded_onnx(SmallResNet(len(TERRAIN_CLASSES)), base_file, size)
    head = GridHead(base, trained["cells"], len(TERRAIN_CLASSES), tune_branch=tune)
    head.load_state_dict(state)
    head.eval()

    ds = load_terrain(data, 224 if not args.dry_run else 48, cache_dir(runs))
    _, va = split_masks(ds)
    metrics = measure(head, ds.subset(va), spec, args.mosaics, args.seed + 11, trained["minCells"])
    print(f"[grid-export] mosaic mean IoU: cleaned {metrics['cleaned']['meanIoU']:.3f}, raw {metrics['raw']['meanIoU']:.3f}, "
          f"whole tiles {metrics['wholeTile']['meanIoU']:.3f}", flush=True)

    g = torch.Generator().manual_seed(args.seed)
    example = torch.rand(2, 3, size, size, generator=g) * 2 - 1
    path = models / spec["file"]
    old = subprocess.run(["node", "-e", NODE_RUN, str(base_file), str(size)], input=json.dumps(example.numpy().ravel().tolist()),
                         capture_output=True, text=True, cwd=REPO, check=True)
    old_probs = np.array(json.loads(old.stdout), dtype=np.float32)
    with torch.no_grad():
        probs, grid = head(example)
    diff = float(np.abs(probs.numpy().ravel() - old_probs).max())
    if diff > 1e-4:
        raise SystemExit(f"the probabilities differ from the shipped classifier's by {diff}")
    torch.onnx.export(head, example, str(path), input_names=["image"], output_names=["probabilities", "grid"],
                      dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}, "grid": {0: "batch"}},
                      opset_version=OPSET, do_constant_folding=True)
    golden = {"input": {"name": "image", "shape": list(example.shape), "data": b64(example.numpy())},
              "outputs": {"probabilities": {"shape": list(probs.shape), "data": b64(probs.numpy())},
                          "grid": {"shape": list(grid.shape), "data": b64(grid.numpy())}}}
    gpath = models / spec["golden"]
    gpath.write_text(json.dumps(golden))
    r = subprocess.run(["node", str(REPO / "scripts" / "onnx-check.mjs"), str(path), str(gpath), "200"],
                       capture_output=True, text=True, cwd=REPO, check=True)
    check = json.loads(r.stdout.strip().splitlines()[-1])
    if check["maxAbsDiff"] > 1e-3:
        raise SystemExit(f"onnxruntime-node differs from PyTorch by {check['maxAbsDiff']}")
    print(f"[grid-export] {path.name}: {path.stat().st_size / 1e6:.2f} MB, max|diff| vs shipped probabilities {diff:.1e}, "
          f"onnxruntime-node max|diff| {check['maxAbsDiff']:.1e}, p50 {check['p50Ms']:.2f} ms on one core", flush=True)

    hasher = hashlib.sha256()
    for name in ORDER:
        hasher.update((models / manifest["models"][name]["file"]).read_bytes())
    previous = manifest["version"]
    manifest["version"] = args.version or f"{dt.date.today().isoformat()}-{hasher.hexdigest()[:8]}"
    spec["outputs"] = {"probabilities": "probabilities", "grid": "grid"}
    spec["bytes"] = path.stat().st_size
    spec["metrics"]["onnx"] = check
    spec["grid"] = {
        "cells": trained["cells"], "minCells": trained["minCells"],
        "metrics": {"mosaicMeanIoU": metrics["cleaned"]["meanIoU"], "rawGridMeanIoU": metrics["raw"]["meanIoU"],
                    "wholeTileMeanIoU": metrics["wholeTile"]["meanIoU"], "perTerrain": metrics["cleaned"]["perTerrain"],
                    "mosaics": args.mosaics, "mosaicTiles": 16, "tilePx": 256, "blockPx": 64,
                    "note": "validation scenes (sha1 split) in blobs of 64 px blocks, 4 x 4 tiles a mosaic; IoU per terrain over all cells",
                    "tunedBranch": tune,
                    "trainingSteps": trained.get("totalSteps", trained["history"][-1]["step"] if trained["history"] else 0),
                    "trainingRuns": "decoder alone 750 steps (batch 32, lr 2e-3), then with the tuned branch 1500 + 1500 (lr 2e-3, 1e-3)"
                    if not trained.get("dryRun") else "dry run"},
    }
    if manifest["models"].pop("changeDetector", None):
        # It reads the classifier's trunk: a new classifier needs it retrained (train_change.py, then --export).
        print("[grid] the change detector was trained on the previous classifier and is left out: retrain it", flush=True)
    manifest["totalBytes"] = sum(manifest["models"][n]["bytes"] for n in ORDER)
    manifest.setdefault("history", []).append({"version": previous, "replacedBy": manifest["version"],
                                              "change": "terrain classifier with the terrain grid output"})
    write_json(models / "manifest.json", manifest)
    print(f"[grid-export] manifest version {previous} -> {manifest['version']}", flush=True)
    return 0


# Runs the current ONNX file on the example in onnxruntime-node and prints its probabilities.
NODE_RUN = """
const ort = require('onnxruntime-node');
const [file, size] = process.argv.slice(1);
(async () => {
  const s = await ort.InferenceSession.create(file);
  const x = Float32Array.from(JSON.parse(require('fs').readFileSync(0, 'utf8')));
  const out = await s.run({ image: new ort.Tensor('float32', x, [x.length / (3 * size * size), 3, Number(size), Number(size)]) });
  console.log(JSON.stringify(Array.from(out.probabilities.data)));
})();
"""


if __name__ == "__main__":
    sys.exit(main())
