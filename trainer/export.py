#!/usr/bin/env python3
"""Evaluates the trained models, exports them to ONNX and writes models/manifest.json.

Evaluation (also written into the manifest): classifier accuracy/macro-F1/confusion (from
their training results), generator Fréchet distance in the scene classifier's embedding
space, sample diversity (mean pairwise SSIM of 100 samples vs 100 real photos), the
birthday-paradox check (closest pairs among 100 samples), terrain consistency, and the
validation score's ROC-AUC. A contact sheet of generated landscapes per terrain is saved
(generated images only: no source imagery is copied into the repository).

Each model gets a golden input/output pair (models/golden/*.json, float32 as base64) that
onnxruntime-node must reproduce; latency on one core is measured with it.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import SCENE_CLASSES, TERRAIN_CLASSES, base_parser, read_json, setup, write_json  # noqa: E402
from groundview.compat import compatibility_matrix  # noqa: E402
from groundview.data import data_root, load_ground, load_trained_terrain_tiles, to_tensor, validation_subset  # noqa: E402
from groundview.metrics import closest_pairs, mean_pairwise_ssim  # noqa: E402
from groundview.models import ClassifierExport, Encoder  # noqa: E402
from groundview.pipeline import encode_generate_classify, load_generator, load_scene, scene_fd, terrain_consistency  # noqa: E402
from groundview.runs import cache_dir, load_small_resnet, step_result, weights  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OPSET = 13


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def export_onnx(module: torch.nn.Module, example: torch.Tensor, path: Path, input_name: str, output_names: list[str]) -> dict:
    """Exports with a dynamic batch axis and returns the golden pair computed by PyTorch."""
    module.eval()
    with torch.no_grad():
        outs = module(example)
    outs = outs if isinstance(outs, tuple) else (outs,)
    torch.onnx.export(module, example, str(path), input_names=[input_name], output_names=output_names,
                      dynamic_axes={input_name: {0: "batch"}, **{o: {0: "batch"} for o in output_names}},
                      opset_version=OPSET, do_constant_folding=True)
    return {"input": {"name": input_name, "shape": list(example.shape), "data": b64(example.numpy())},
            "outputs": {n: {"shape": list(o.shape), "data": b64(o.numpy())} for n, o in zip(output_names, outs)}}


def check_in_node(model: Path, golden: Path) -> dict:
    """Runs the golden pair through onnxruntime-node (the runtime the API uses)."""
    r = subprocess.run(["node", str(REPO / "scripts" / "onnx-check.mjs"), str(model), str(golden), "200"],
                       capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        raise SystemExit(f"onnxruntime-node check failed for {model.name}: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def contact_sheet(images_by_terrain: dict[str, torch.Tensor], path: Path) -> None:
    """One row of generated 128x128 landscapes per terrain, labelled."""
    cols = max(len(v) for v in images_by_terrain.values())
    label_w = 110
    sheet = Image.new("RGB", (label_w + cols * 130, len(images_by_terrain) * 130), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (terrain, imgs) in enumerate(images_by_terrain.items()):
        draw.text((6, r * 130 + 58), terrain, fill="black")
        for c, img in enumerate(imgs):
            arr = ((img.permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
            sheet.paste(Image.fromarray(arr), (label_w + c * 130, r * 130 + 1))
    sheet.save(path)


def out_of_source(runs: Path):
    """The scene classifier retrained without one dataset and scored on it (train_scene.py --exclude-source)."""
    f = runs / "scene-oos" / "result.json"
    if not f.exists():
        return None
    r = read_json(f)
    oos = r.get("outOfSource") or {}
    return {"note": "a second scene classifier trained without this dataset, scored on all of its photos",
            "trainingEpochs": r.get("trainingEpochs") or len(r["metrics"]["training"]["history"]), **{k: oos.get(k) for k in ("dataset", "classesShared", "n", "top1", "macroF1", "perClassF1", "confusion")}}


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--out", default=str(REPO / "models"))
    p.add_argument("--version", default="", help="model version; default: date + hash of the ONNX files")
    args = p.parse_args(argv)
    setup(args)
    runs, data, out = Path(args.runs), data_root(args), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "golden").mkdir(exist_ok=True)
    cpu = torch.device("cpu")
    tres, sres, gres, eres, vres = (step_result(runs, n) for n in ("terrain", "scene", "generator", "encoder", "validation"))
    terrain = load_small_resnet(runs, "terrain", len(TERRAIN_CLASSES), cpu)
    scene_m = load_small_resnet(runs, "scene", len(SCENE_CLASSES), cpu)
    gen_m = load_generator(runs, cpu)
    d = gen_m.latent_dim
    enc = Encoder(d); enc.load_state_dict(weights(runs, "encoder", cpu))
    scene = load_scene(runs, cpu)

    # --- evaluation of the generator and of the encoder + generator pair
    g = torch.Generator().manual_seed(args.seed)
    photos = load_ground(data, 128, cache_dir(runs))
    pv = validation_subset(photos)
    idx = torch.randperm(len(pv), generator=g)[:100].numpy()
    real = to_tensor(pv.images[np.sort(idx)], cpu)
    with torch.no_grad():
        samples = gen_m(torch.randn(100, d, generator=g))
    s01 = (samples + 1) / 2
    ssim_fake, ssim_real = mean_pairwise_ssim(s01), mean_pairwise_ssim(real)
    # Measured again here, in the embedding space of the scene classifier being exported (the
    # generator may have been trained against an earlier one).
    fd = scene_fd(lambda k, gen: gen_m(torch.randn(k, d, generator=gen)), scene, pv.images, 250 if args.dry_run else 1000,
                  args.seed, cpu)
    pairs_fake, pairs_real = closest_pairs(s01), closest_pairs(real)
    tv = validation_subset(load_trained_terrain_tiles(data, runs))
    tmeta = eres["input"]
    _, gen_imgs, gen_probs = encode_generate_classify(enc, gen_m, scene, tv.images, tmeta, cpu)
    m = compatibility_matrix()
    consistency = terrain_consistency(gen_probs, tv.labels, m)
    # How alike the landscapes of tiles of one terrain are (mean pairwise SSIM of up to 20 tiles' landscapes per terrain).
    within = {t: mean_pairwise_ssim((gen_imgs[np.nonzero(tv.labels == i)[0][:20]] + 1) / 2)
              for i, t in enumerate(TERRAIN_CLASSES) if (tv.labels == i).sum() >= 2}
    sheet = {}
    for i, t in enumerate(TERRAIN_CLASSES):
        sel = np.nonzero(tv.labels == i)[0][:8]
        if len(sel):
            sheet[t] = gen_imgs[sel]
    contact_sheet(sheet, out / "contact_sheet.png")
    print(f"[export] scene-embedding FD={fd:.3f} SSIM samples={ssim_fake:.4f} real={ssim_real:.4f} consistency={consistency:.4f} "
          f"within-terrain landscape SSIM={np.mean(list(within.values())):.4f}", flush=True)

    # --- ONNX export + golden pairs + onnxruntime-node check
    size_t, size_s, size_e = tres["inputSize"], sres["inputSize"], tmeta["inputSize"]
    ex_t = torch.rand(2, 3, size_t, size_t, generator=g) * 2 - 1
    ex_e = torch.rand(2, 3, size_e, size_e, generator=g) * 2 - 1
    ex_s = torch.rand(2, 3, size_s, size_s, generator=g) * 2 - 1
    ex_z = torch.randn(2, d, generator=g)
    specs = {
        "terrainClassifier": (ClassifierExport(terrain, False), ex_t, "image", ["probabilities"]),
        "sceneClassifier": (ClassifierExport(scene_m, True), ex_s, "image", ["probabilities", "embedding"]),
        "generator": (gen_m, ex_z, "latent", ["image"]),
        "encoder": (enc, ex_e, "image", ["latent"]),
    }
    files, checks, hasher = {}, {}, hashlib.sha256()
    for name, (module, example, iname, onames) in specs.items():
        path = out / f"{name}.onnx"
        golden = export_onnx(module, example, path, iname, onames)
        gpath = out / "golden" / f"{name}.json"
        gpath.write_text(json.dumps(golden))
        checks[name] = check_in_node(path, gpath)
        if checks[name]["maxAbsDiff"] > 1e-3:
            raise SystemExit(f"{name}: onnxruntime-node differs from PyTorch by {checks[name]['maxAbsDiff']}")
        hasher.update(path.read_bytes())
        files[name] = {"file": path.name, "golden": f"golden/{name}.json", "bytes": path.stat().st_size}
        print(f"[export] {name}: {path.stat().st_size / 1e6:.2f} MB, onnxruntime-node max|diff|={checks[name]['maxAbsDiff']:.2e}, "
              f"p50={checks[name]['p50Ms']:.2f} ms on one core", flush=True)
    # PyTorch weights of the encoder and generator, for the benchmark's eager-PyTorch peer.
    (out / "torch").mkdir(exist_ok=True)
    torch.save(enc.state_dict(), out / "torch" / "encoder.pt")
    torch.save(gen_m.state_dict(), out / "torch" / "generator.pt")
    version = args.version or f"{dt.date.today().isoformat()}-{hasher.hexdigest()[:8]}"
    classifier_input = lambda r: {"name": "image", "size": [r["inputSize"], r["inputSize"]], "mean": list(r["mean"]), "std": list(r["std"]),
                                  "layout": "NCHW", "dtype": "float32", "colour": "RGB"}
    clf_metrics = lambda r: dict(r["metrics"]["validation"])
    manifest = {
        "version": version,
        "trainedAt": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "dryRun": args.dry_run,
        "preprocessing": "centre-crop to a square, resize to input.size (bilinear), then per channel (pixel/255 - mean)/std",
        "models": {
            "terrainClassifier": {**files["terrainClassifier"], "classes": TERRAIN_CLASSES,
                                  "groundResolutionM": tres["groundResolutionM"], "footprintM": tres["footprintM"],
                                  "input": classifier_input(tres), "outputs": {"probabilities": "probabilities"},
                                  "metrics": {**clf_metrics(tres), "trainSize": tres.get("trainSize", tres["inputSize"]),
                                              "servedSizeSweep": tres.get("servedSizeSweep", {}),
                                              "onnx": checks["terrainClassifier"], "split": tres["split"]}},
            "sceneClassifier": {**files["sceneClassifier"], "classes": SCENE_CLASSES, "input": classifier_input(sres),
                                "outputs": {"probabilities": "probabilities", "embedding": "embedding"},
                                "embeddingDim": sres["embedDim"],
                                "metrics": {**clf_metrics(sres), "bySource": sres["metrics"]["validationTop1BySource"],
                                            "outOfSource": out_of_source(runs), "cleaning": sres["cleaning"],
                                            "onnx": checks["sceneClassifier"], "split": sres["split"]}},
            "generator": {**files["generator"], "latentDim": d, "input": {"name": "latent"}, "outputs": {"image": "image"},
                          "outputRange": [-1, 1], "size": [128, 128],
                          "metrics": {"sceneEmbeddingFrechetDistance": fd,
                                      "note": "Fréchet distance in the exported scene classifier's embedding space (not Inception FID), "
                                              "1000 prior samples vs 1000 random validation photos",
                                      "latentDimSweep": gres["sweep"],
                                      "meanPairwiseSSIM": {"samples100": ssim_fake, "realPhotos100": ssim_real},
                                      "closestPairsRMS": {"samples100": pairs_fake, "realPhotos100": pairs_real},
                                      "trainingSteps": gres["steps"], "onnx": checks["generator"]}},
            "encoder": {**files["encoder"], "latentDim": d, "input": classifier_input(tmeta), "outputs": {"latent": "latent"},
                        "metrics": {"terrainConsistency": consistency,
                                    "withinTerrainLatentVariance": eres["metrics"].get("withinTerrainSpread"),
                                    "withinTerrainLandscapeSSIM": within,
                                    "recipe": eres["metrics"].get("recipe"),
                                    "terrainConsistencyByTerrain": eres["metrics"]["terrainConsistencyByTerrain"],
                                    "onnx": checks["encoder"]}},
            "validation": {k: v for k, v in vres.items() if k != "dryRun"},
        },
        "totalBytes": sum(f["bytes"] for f in files.values()),
    }
    write_json(out / "manifest.json", manifest)
    print(f"[export] wrote {out / 'manifest.json'} version={version} total={manifest['totalBytes'] / 1e6:.2f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
