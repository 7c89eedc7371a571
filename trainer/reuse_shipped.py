#!/usr/bin/env python3
"""Puts shipped models (models/) back into runs/ so that later steps can be retrained alone.

train_encoder.py, fit_validation.py and export.py read runs/<step>/; after a step has been
retrained and the others have not, this fills in the others from what is shipped:
- generator: models/torch/generator.pt, with the training record of models/manifest.json;
- scene: the weights read back from models/sceneClassifier.onnx (BatchNorm folded into the
  convolutions, exact in eval mode: groundview/onnx_import.py), its preprocessing, and the
  validation metrics, cleaning record and out-of-source test the manifest holds (measured when
  it was trained; not re-measured here).
(The terrain classifier: train_terrain.py --init models/terrainClassifier.onnx --epochs 0.)
Every result file says which version it came from.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import SCENE_CLASSES, base_parser, read_json, setup, write_json  # noqa: E402
from groundview.models import Generator, SmallResNet  # noqa: E402
from groundview.onnx_import import load_folded_onnx  # noqa: E402


def reuse_generator(models: Path, manifest: dict, runs: Path) -> None:
    spec = manifest["models"]["generator"]
    state = torch.load(models / "torch" / "generator.pt", map_location="cpu")
    Generator(spec["latentDim"]).load_state_dict(state)          # fails loudly on a shape mismatch
    out = runs / "generator"
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"d": spec["latentDim"], "G": state, "steps": spec["metrics"]["trainingSteps"]}, out / "vaegan.pt")
    write_json(out / "result.json", {
        "latentDim": spec["latentDim"], "steps": spec["metrics"]["trainingSteps"], "sweep": spec["metrics"]["latentDimSweep"],
        "reusedFrom": {"weights": os.path.relpath(models / "torch" / "generator.pt"), "version": manifest["version"]},
        "dryRun": False,
    })
    print(f"[generator] reused version {manifest['version']}: d={spec['latentDim']}, "
          f"{spec['metrics']['trainingSteps']} training steps", flush=True)


def reuse_scene(models: Path, manifest: dict, runs: Path) -> None:
    spec = manifest["models"]["sceneClassifier"]
    size = spec["input"]["size"][0]
    model = load_folded_onnx(SmallResNet(len(SCENE_CLASSES)), models / spec["file"], size)
    met = spec["metrics"]
    out = runs / "scene"
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "model.pt")
    write_json(out / "result.json", {
        "classes": spec["classes"], "inputSize": size, "mean": spec["input"]["mean"], "std": spec["input"]["std"],
        "embedDim": spec["embeddingDim"], "cleaning": met["cleaning"], "split": met["split"],
        "recipe": {"cacheSize": 128},
        "metrics": {"validation": {k: met[k] for k in ("n", "top1", "macroF1", "perClassF1", "confusion")},
                    "validationTop1BySource": met["bySource"]},
        "reusedFrom": {"weights": os.path.relpath(models / spec["file"]), "version": manifest["version"]},
        "dryRun": False,
    })
    oos = met.get("outOfSource")
    if oos:
        write_json(runs / "scene-oos" / "result.json", {
            "outOfSource": {k: v for k, v in oos.items() if k not in ("note", "trainingEpochs")},
            "trainingEpochs": oos["trainingEpochs"],
            "reusedFrom": {"version": manifest["version"]},
        })
    print(f"[scene] reused version {manifest['version']}: {size} px, validation top-1 {met['top1']:.4f} (as measured then)", flush=True)


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--models", default=str(Path(__file__).resolve().parent.parent / "models"))
    p.add_argument("--steps", default="generator", help="comma-separated: generator, scene")
    args = p.parse_args(argv)
    setup(args)
    models, runs = Path(args.models), Path(args.runs)
    manifest = read_json(models / "manifest.json")
    steps = {"generator": reuse_generator, "scene": reuse_scene}
    for step in args.steps.split(","):
        if step not in steps:
            raise SystemExit(f"unknown step {step!r}: one of {', '.join(steps)}")
        steps[step](models, manifest, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
