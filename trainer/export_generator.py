#!/usr/bin/env python3
"""Measures a trained landscape GAN through the served pipeline, and exports it.

The pipeline is the service's: a validation tile (RSSCN7, four rotations each, never trained
on) -> the shipped terrain classifier's probabilities and the shipped encoder's latent, plus
per-tile noise (tile_noise with the new version as seed) -> generator -> 128x128 picture.
The shipped generator (latent only) goes through the same pipeline, so every measure of
groundview.judging is reported for both: judge FD/KID against held-back photos, judge terrain
consistency, within-terrain near-duplicates, classifier two-sample test (and, as its scale,
the same test between two halves of the real photos), birthday test and memorisation.

--measure-only prints and writes the measures (RUNS/gan/export-measures.json) and changes
nothing; otherwise the generator is exported to ONNX with a golden pair, checked in
onnxruntime-node, and models/manifest.json gets the new generator entry and version. A resume
checkpoint of the run (weights and Adam moments, < 40 MB) is copied to models/torch/gan.

models/contact_sheet.png is built from public-domain NAIP tiles of the bundled sample area
(the only imagery the repository may hold): per terrain the classifier finds there, tiles
beside their landscapes. RUNS/gan/contact_sheet_full.png (not committed: shared data) adds,
for every terrain, RSSCN7 validation tiles and a row of held-back real photos.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import SCENE_CLASSES, TERRAIN_CLASSES, base_parser, read_json, setup, write_json  # noqa: E402
from groundview.compat import compatibility_matrix  # noqa: E402
from groundview.data import data_root, load_ground, load_terrain, normalise, resize, split_of, to_tensor  # noqa: E402
from groundview.gan import GAN_SOURCES, NOISE_DIM, CondGenerator, recalibrate_bn, tile_noise  # noqa: E402
from groundview.judging import (birthday_test, judge_consistency, judge_distances, judge_folder, judge_outputs, load_judge,  # noqa: E402
                                near_duplicate_share, nearest_training_ssim, two_sample_accuracy)
from groundview.models import Encoder, Generator, SmallResNet  # noqa: E402
from groundview.onnx_import import load_folded_onnx  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ROTATIONS = 4


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


class Pipeline:
    """The shipped terrain classifier and encoder, as the service runs them."""

    def __init__(self, models: Path, manifest: dict):
        m = manifest["models"]
        self.t_in, self.e_in = m["terrainClassifier"]["input"], m["encoder"]["input"]
        self.terrain = load_folded_onnx(SmallResNet(len(TERRAIN_CLASSES)), models / m["terrainClassifier"].get("floatFile", m["terrainClassifier"]["file"]),
                                        self.t_in["size"][0]).eval()
        self.encoder = Encoder(m["encoder"]["latentDim"])
        self.encoder.load_state_dict(torch.load(models / "torch" / "encoder.pt", map_location="cpu"))
        self.encoder.eval()

    @torch.no_grad()
    def run(self, tiles01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(terrain probabilities, latents) for tiles (N,3,H,W in [0, 1])."""
        xt = normalise(resize(tiles01, self.t_in["size"][0]), self.t_in["mean"], self.t_in["std"])
        xe = normalise(resize(tiles01, self.e_in["size"][0]), self.e_in["mean"], self.e_in["std"])
        return torch.softmax(self.terrain(xt), 1), self.encoder(xe)


def rotations(tiles01: torch.Tensor) -> torch.Tensor:
    """Each tile in its four 90-degree rotations, tile-major."""
    return torch.stack([torch.rot90(tiles01, k, (2, 3)) for k in range(ROTATIONS)], 1).flatten(0, 1)


@torch.no_grad()
def generate(gen, p: torch.Tensor, lat: torch.Tensor, keys: list[tuple[int, int, int]], seed: str | None) -> torch.Tensor:
    out = []
    for i in range(0, len(p), 64):
        if seed is None:                                   # the shipped latent-only generator
            out.append(gen(lat[i:i + 64]))
        else:
            noise = torch.from_numpy(np.stack([tile_noise(seed, *k) for k in keys[i:i + 64]]))
            out.append(gen(p[i:i + 64], lat[i:i + 64], noise))
    return torch.cat(out).clamp(-1, 1)


def measure(images_m11: torch.Tensor, tile_terrain: np.ndarray, tile_id: np.ndarray, real_m11: torch.Tensor,
            train_u8: np.ndarray, judge, seed: int) -> dict:
    im01 = (images_m11 + 1) / 2
    real01 = (real_m11 + 1) / 2
    first = np.nonzero(np.r_[True, tile_id[1:] != tile_id[:-1]])[0]          # one picture per tile
    share, per = near_duplicate_share(im01[first], tile_terrain[first])
    res = {"pictures": int(len(images_m11)), "tiles": int(len(first)),
           "nearDuplicateShare": share, "nearDuplicateShareByTerrain": {TERRAIN_CLASSES[k]: v for k, v in per.items()},
           "twoSampleAccuracy": two_sample_accuracy(real01, im01, seed=seed),
           "birthday": [birthday_test(im01, s, 20, seed) for s in (50, 100)]}
    mem = nearest_training_ssim(im01[torch.randperm(len(im01), generator=torch.Generator().manual_seed(seed))[:200]], train_u8)
    res["memorisation"] = {"pictures": 200, "nearestTrainingSSIM": {"max": float(mem.max()), "median": float(np.median(mem))},
                           "copies": int((mem > 0.9).sum())}
    if judge is not None:
        probs, fake_emb = judge_outputs(judge, images_m11)
        res.update(judge_distances(fake_emb, judge_outputs(judge, real_m11)[1]))
        res.update(judge_consistency(probs, tile_terrain, TERRAIN_CLASSES))
    return res


def contact_sheet(rows: list[tuple[str, list[np.ndarray], list[np.ndarray], list[np.ndarray]]], path: Path) -> None:
    """rows: (label, tiles, landscapes, photos); each cell 128 px; a tile is drawn beside its landscape."""
    cell, label_w = 130, 110
    cols = max(max(len(t) * 2 if t else len(l), len(ph)) for _, t, l, ph in rows)
    lines = sum(1 + (1 if ph else 0) for _, _, _, ph in rows)
    sheet = Image.new("RGB", (label_w + cols * cell, lines * cell + 4), "white")
    draw = ImageDraw.Draw(sheet)
    y = 0
    for label, tiles, lands, photos in rows:
        draw.text((6, y + 58), label, fill="black")
        cells = [c for pair in zip(tiles, lands) for c in pair] if tiles else lands
        for c, img in enumerate(cells):
            sheet.paste(Image.fromarray(img), (label_w + c * cell, y + 1))
        y += cell
        if photos:
            draw.text((6, y + 58), f"{label}: photos", fill="grey")
            for c, img in enumerate(photos):
                sheet.paste(Image.fromarray(img), (label_w + c * cell, y + 1))
            y += cell
    sheet.save(path)


def u8(x_m11: torch.Tensor) -> np.ndarray:
    return ((x_m11.permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)


def naip_tiles(path: Path, footprint_px: int, stride: int) -> np.ndarray:
    """Windows of footprint_px cut from a NAIP GeoTIFF's RGB bands, resized to 128 px."""
    from osgeo import gdal                       # python3-gdal, as the raster import uses GDAL
    ds = gdal.Open(str(path))
    rgb = np.stack([ds.GetRasterBand(b).ReadAsArray() for b in (1, 2, 3)], -1).astype(np.uint8)
    out = []
    for y in range(0, rgb.shape[0] - footprint_px + 1, stride):
        for x in range(0, rgb.shape[1] - footprint_px + 1, stride):
            win = Image.fromarray(rgb[y:y + footprint_px, x:x + footprint_px]).resize((128, 128), Image.BICUBIC)
            out.append(np.asarray(win))
    return np.stack(out)


def load_generator(ckpt: Path) -> tuple[CondGenerator, dict]:
    """The best evaluated EMA generator of a run (RUNS/gan/best), or a checkpoint folder's."""
    meta = read_json(ckpt / "meta.json")
    g = CondGenerator(widths=tuple(meta["gWidths"]))
    evaluated = (ckpt / "G_eval.pt").exists()             # best/: BatchNorm statistics already measured
    g.load_state_dict(torch.load(ckpt / ("G_eval.pt" if evaluated else "G_ema.pt"), map_location="cpu"))
    if not evaluated:
        recalibrate_bn(g, lambda n, gen: torch.softmax(torch.randn(n, len(SCENE_CLASSES), generator=gen) * 3, 1), batches=10)
    g.res, g.alpha = meta.get("resolution", 128), meta.get("alpha", 1.0)
    return g.eval(), meta


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--models", default=str(REPO / "models"))
    p.add_argument("--ckpt", default=None, help="run folder to export (default RUNS/gan/best)")
    p.add_argument("--judge", default=None, help="default RUNS/judge, else models/torch/judge")
    p.add_argument("--naip", default=None, help="NAIP GeoTIFF for the committed contact sheet "
                                                "(default DATA/georef/naip-nd/m_4709963_se_14_1_20200831.tif)")
    p.add_argument("--measure-only", action="store_true")
    p.add_argument("--version", default="")
    args = p.parse_args(argv)
    setup(args)
    runs, data, models = Path(args.runs), data_root(args), Path(args.models)
    manifest = read_json(models / "manifest.json")
    ckpt = Path(args.ckpt) if args.ckpt else runs / "gan" / "best"
    gen, meta = load_generator(ckpt)
    judge = load_judge(judge_folder(args.judge, runs), "cpu")
    pipe = Pipeline(models, manifest)

    # Validation tiles (four rotations each) through the shipped classifier and encoder.
    tiles = load_terrain(data, 128, cache_dir(runs))
    val = np.array([split_of(p) == "val" for p in tiles.paths])
    if not val.any():
        val[:] = True
    tv, labels = tiles.images[val], tiles.labels[val]
    t01 = rotations(to_tensor(tv, "cpu"))
    tile_terrain = np.repeat(labels, ROTATIONS)
    tile_id = np.repeat(np.arange(len(tv)), ROTATIONS)
    probs, lats = pipe.run(t01)
    keys = [(17, int(i), int(r)) for i in range(len(tv)) for r in range(ROTATIONS)]
    photos = load_ground(data, 128, cache_dir(runs))
    chosen = np.array([args.dry_run or s in GAN_SOURCES for s in photos.sources])
    split = np.array([split_of(p) for p in photos.paths])
    real_idx = np.nonzero(chosen & (split == "val"))[0] if (chosen & (split == "val")).any() else np.nonzero(chosen)[0]
    real = to_tensor(photos.images[real_idx], "cpu") * 2 - 1
    train_u8 = photos.images[chosen & (split == "train")] if (chosen & (split == "train")).any() else photos.images[chosen]
    print(f"[export-gen] {len(tv)} validation tiles x {ROTATIONS} rotations, {len(real)} held-back photos, "
          f"{len(train_u8)} training photos, judge={'yes' if judge else 'no'}", flush=True)

    # The version (and so the noise seed) is fixed before any picture is made: a hash of the
    # other three shipped models and the generator's weights.
    hasher = hashlib.sha256()
    for spec in ("terrainClassifier", "sceneClassifier", "encoder"):
        hasher.update((models / manifest["models"][spec]["file"]).read_bytes())
    for v in gen.state_dict().values():
        hasher.update(v.numpy().tobytes())
    version = args.version or f"{dt.date.today().isoformat()}-{hasher.hexdigest()[:8]}"
    new_imgs = generate(gen, probs, lats, keys, version)
    results = {"new": measure(new_imgs, tile_terrain, tile_id, real, train_u8, judge, args.seed)}
    print(f"[export-gen] new: {json.dumps({k: v for k, v in results['new'].items() if not isinstance(v, dict) or k == 'memorisation'})}", flush=True)
    if not manifest["models"]["generator"].get("inputs"):
        old = Generator(manifest["models"]["generator"]["latentDim"])
        old.load_state_dict(torch.load(models / "torch" / "generator.pt", map_location="cpu"))
        old_imgs = generate(old.eval(), probs, lats, keys, None)
        results["shipped"] = measure(old_imgs, tile_terrain, tile_id, real, train_u8, judge, args.seed)
        results["shipped"]["version"] = manifest["version"]
        print(f"[export-gen] shipped: {json.dumps({k: v for k, v in results['shipped'].items() if not isinstance(v, dict)})}", flush=True)
    elif "baseline" in manifest["models"]["generator"].get("metrics", {}):
        results["shipped"] = manifest["models"]["generator"]["metrics"]["baseline"]
    # The test's scale: two random halves of the held-back photos (they are stored class by
    # class, so unshuffled halves would differ in class and be told apart: 0.71 once).
    shuffled = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(args.seed))]
    half = len(shuffled) // 2
    results["realVsRealTwoSampleAccuracy"] = two_sample_accuracy((shuffled[:half] + 1) / 2, (shuffled[half:] + 1) / 2, seed=args.seed)
    results["training"] = meta
    write_json(runs / "gan" / "export-measures.json", results)

    # Contact sheets: the full one (shared data, not committed) and the committed NAIP one.
    full_rows = []
    for t, name in enumerate(TERRAIN_CLASSES):
        sel = np.nonzero(tile_terrain == t)[0][::ROTATIONS][:8]
        ph_idx = real_idx[np.nonzero(np.isin(photos.labels[real_idx], np.nonzero(compatibility_matrix()[t] >= 0.1)[0]))[0][:8]]
        full_rows.append((name, [u8(t01[i] * 2 - 1) for i in sel], [u8(new_imgs[i]) for i in sel],
                          [photos.images[i] for i in ph_idx]))
    (runs / "gan").mkdir(parents=True, exist_ok=True)
    contact_sheet(full_rows, runs / "gan" / "contact_sheet_full.png")
    if args.measure_only:
        return 0

    out = models
    (out / "golden").mkdir(exist_ok=True)
    g = torch.Generator().manual_seed(args.seed)
    ex = (torch.softmax(torch.randn(2, len(TERRAIN_CLASSES), generator=g) * 2, 1), torch.randn(2, gen.latent_dim, generator=g),
          torch.randn(2, NOISE_DIM, generator=g))
    names = ["terrain", "latent", "noise"]
    with torch.no_grad():
        y = gen(*ex)
    path = out / "generator.onnx"
    torch.onnx.export(gen, ex, str(path), input_names=names, output_names=["image"],
                      dynamic_axes={**{n: {0: "batch"} for n in names}, "image": {0: "batch"}}, opset_version=13,
                      do_constant_folding=True)
    golden = {"inputs": [{"name": n, "shape": list(t.shape), "data": b64(t.numpy())} for n, t in zip(names, ex)],
              "outputs": {"image": {"shape": list(y.shape), "data": b64(y.numpy())}}}
    (out / "golden" / "generator.json").write_text(json.dumps(golden))
    checks = {}
    for threads in (1, 2):
        r = subprocess.run(["node", str(REPO / "scripts" / "onnx-check.mjs"), str(path), str(out / "golden" / "generator.json"), "200"],
                           capture_output=True, text=True, cwd=REPO, env={**os.environ, "ONNX_CHECK_THREADS": str(threads)})
        if r.returncode != 0:
            raise SystemExit(f"onnxruntime-node check failed: {r.stderr[-2000:]}")
        checks[f"threads{threads}"] = json.loads(r.stdout.strip().splitlines()[-1])
    if checks["threads1"]["maxAbsDiff"] > 1e-3:
        raise SystemExit(f"generator: onnxruntime-node differs from PyTorch by {checks['threads1']['maxAbsDiff']}")
    gm = manifest["models"]["generator"]
    manifest["models"]["generator"] = {
        "file": path.name, "golden": "golden/generator.json", "bytes": path.stat().st_size,
        "latentDim": gen.latent_dim, "noiseDim": NOISE_DIM, "noiseSeed": version,
        "inputs": {"terrain": "terrain", "latent": "latent", "noise": "noise"}, "outputs": {"image": "image"},
        "outputRange": [-1, 1], "size": [128, 128], "trainedResolution": gen.res, "fadeIn": gen.alpha,
        "conditioning": "terrain probabilities -> ground scene distribution through the compatibility matrix "
                        "restricted to the generator's scene classes; latent and noise condition every layer",
        "metrics": {**results["new"], "baseline": results.get("shipped"),
                    "realVsRealTwoSampleAccuracy": results["realVsRealTwoSampleAccuracy"],
                    "training": meta, "onnx": checks,
                    "note": "measured through the shipped terrain classifier and encoder on RSSCN7 validation tiles "
                            "(4 rotations each) against held-back photos of the generator's source classes; "
                            "judge = JudgeNet, never trained against"},
        "previous": {"version": manifest["version"], "file": gm["file"]},
    }
    manifest["version"] = version
    manifest["trainedAt"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    manifest["totalBytes"] = sum((out / m["file"]).stat().st_size for m in manifest["models"].values() if "file" in m)
    write_json(out / "manifest.json", manifest)
    (out / "torch").mkdir(exist_ok=True)
    torch.save(gen.state_dict(), out / "torch" / "generator.pt")
    resume = out / "torch" / "gan"
    src = runs / "gan" / "ckpt"
    if src.exists():
        if resume.exists():
            shutil.rmtree(resume)
        shutil.copytree(src, resume)

    # The committed contact sheet: NAIP sample tiles (US public domain) and their landscapes.
    naip = Path(args.naip) if args.naip else data / "georef" / "naip-nd" / "m_4709963_se_14_1_20200831.tif"
    if naip.exists():
        nt = naip_tiles(naip, footprint_px=45, stride=45)
        n01 = to_tensor(nt, "cpu")
        npb, nlat = pipe.run(n01)
        nkeys = [(17, 900000 + i, 0) for i in range(len(nt))]
        nimg = generate(gen, npb, nlat, nkeys, version)
        dom = npb.argmax(1).numpy()
        rows = []
        for t, name in enumerate(TERRAIN_CLASSES):
            sel = np.nonzero(dom == t)[0][:8]
            if len(sel):
                rows.append((f"{name} ({(dom == t).sum()})", [nt[i] for i in sel], [u8(nimg[i]) for i in sel], []))
        contact_sheet(rows, out / "contact_sheet.png")
    print(f"[export-gen] wrote {out / 'manifest.json'} version={version}; generator {path.stat().st_size / 1e6:.2f} MB, "
          f"p50 {checks['threads1']['p50Ms']:.2f} ms (1 thread) / {checks['threads2']['p50Ms']:.2f} ms (2 threads)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
