"""Datasets: discovery, stable splits, in-memory caches and batched augmentation.

Splits are made by hashing each file's path relative to the data root, so they are
stable across runs and machines and need no split files. Images are decoded once into
uint8 arrays (cached under runs/cache) because JPEG decoding would otherwise dominate a
CPU epoch.
"""
from __future__ import annotations

import csv
import hashlib
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .runs import cache_dir
from .common import SCENE_CLASSES, TERRAIN_CLASSES, read_json

IMAGE_EXTS = {".jpg", ".jpeg", ".png"}


def split_of(rel_path: str, val_percent: int = 15, test_percent: int = 0) -> str:
    """'train', 'val' or 'test' from a hash of the path: stable and roughly stratified."""
    h = int(hashlib.sha1(rel_path.encode()).hexdigest()[:8], 16) % 100
    if h < val_percent:
        return "val"
    if h < val_percent + test_percent:
        return "test"
    return "train"


@dataclass
class ImageSet:
    """Decoded images (N, H, W, 3 uint8), integer labels and per-image metadata."""
    images: np.ndarray
    labels: np.ndarray
    paths: list[str]
    sources: list[str]

    def subset(self, mask: np.ndarray) -> "ImageSet":
        idx = np.nonzero(mask)[0]
        return ImageSet(self.images[idx], self.labels[idx],
                        [self.paths[i] for i in idx], [self.sources[i] for i in idx])

    def __len__(self) -> int:
        return len(self.labels)


def _load_images(root: Path, rel_paths: list[str], size: int) -> np.ndarray:
    out = np.empty((len(rel_paths), size, size, 3), dtype=np.uint8)
    for i, rel in enumerate(rel_paths):
        with Image.open(root / rel) as im:
            im = im.convert("RGB")
            w, h = im.size
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            out[i] = np.asarray(im.resize((size, size), Image.BILINEAR))
    return out


def _cached(cache_dir: Path, key: str, build):
    cache_dir.mkdir(parents=True, exist_ok=True)
    f = cache_dir / f"{key}.npz"
    if f.exists():
        z = np.load(f, allow_pickle=False)
        return z["images"]
    images = build()
    tmp = cache_dir / f"{key}.tmp.npz"
    np.savez(tmp, images=images)
    tmp.replace(f)
    return images


def load_terrain(data_root: Path, size: int, cache_dir: Path) -> ImageSet:
    """RSSCN7 aerial scenes, labels in TERRAIN_CLASSES order."""
    root = Path(data_root)
    rels, labels = [], []
    for ci, cls in enumerate(TERRAIN_CLASSES):
        for p in sorted((root / "rsscn7" / cls).iterdir()):
            if p.suffix.lower() in IMAGE_EXTS:
                rels.append(str(p.relative_to(root)))
                labels.append(ci)
    if not rels:
        raise SystemExit(f"no RSSCN7 images under {root / 'rsscn7'}")
    key = "terrain-%d-%s" % (size, hashlib.sha1("\n".join(rels).encode()).hexdigest()[:10])
    images = _cached(cache_dir, key, lambda: _load_images(root, rels, size))
    return ImageSet(images, np.array(labels, dtype=np.int64), rels, ["rsscn7"] * len(rels))


def read_class_map(data_root: Path) -> dict[tuple[str, str], str]:
    with open(Path(data_root) / "ground" / "CLASS_MAP.csv") as f:
        return {(r["dataset"], r["source_class"]): r["suggested_terrain_class"] for r in csv.DictReader(f)}


def load_ground(data_root: Path, size: int, cache_dir: Path) -> ImageSet:
    """Ground-level photos of every dataset present, labelled through CLASS_MAP.csv."""
    root = Path(data_root)
    cmap = read_class_map(root)
    rels, labels, sources = [], [], []
    for (dataset, src_cls), terrain in sorted(cmap.items()):
        d = root / "ground" / dataset / src_cls
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.suffix.lower() in IMAGE_EXTS:
                rels.append(str(p.relative_to(root)))
                labels.append(SCENE_CLASSES.index(terrain))
                sources.append(f"{dataset}/{src_cls}")
    if not rels:
        raise SystemExit(f"no ground photos under {root / 'ground'}")
    key = "ground-%d-%s" % (size, hashlib.sha1("\n".join(rels).encode()).hexdigest()[:10])
    images = _cached(cache_dir, key, lambda: _load_images(root, rels, size))
    return ImageSet(images, np.array(labels, dtype=np.int64), rels, sources)


def static_clean(train: ImageSet) -> tuple[np.ndarray, dict]:
    """Keeps one copy of exact duplicates and drops near-uniform frames (std of pixels < 8)."""
    keep = np.ones(len(train), dtype=bool)
    seen: dict[str, int] = {}
    dups, flat = 0, 0
    for i in range(len(train)):
        h = hashlib.sha1(train.images[i].tobytes()).hexdigest()
        if h in seen:
            keep[i] = False
            dups += 1
        else:
            seen[h] = i
        if train.images[i].std() < 8:
            keep[i] = False
            flat += 1
    return keep, {"exactDuplicates": dups, "nearUniform": flat}



def small_loss_keep(s: ImageSet, p_label: np.ndarray, noisy_prefixes: list[str], drop_percent: float) -> tuple[np.ndarray, dict]:
    """Small-loss label cleaning: in each source class whose name starts with one of
    `noisy_prefixes`, the drop_percent of images whose own label got the lowest probability
    (`p_label`) are left out. Returns the keep mask and the count removed per source class."""
    keep = np.ones(len(s), dtype=bool)
    removed = {}
    sources = np.array(s.sources)
    for src in sorted(set(s.sources)):
        if not any(src.startswith(pfx) for pfx in noisy_prefixes):
            continue
        idx = np.nonzero(sources == src)[0]
        k = int(len(idx) * drop_percent / 100)
        if k == 0:
            continue
        keep[idx[np.argsort(p_label[idx])[:k]]] = False
        removed[src] = k
    return keep, removed


def split_masks(ds: ImageSet, val_percent: int = 15) -> tuple[np.ndarray, np.ndarray]:
    s = np.array([split_of(p, val_percent) for p in ds.paths])
    return s == "train", s == "val"


def validation_subset(ds: ImageSet) -> ImageSet:
    """The validation split (hashing every path once); the training split when there is none
    (tiny --dry-run data)."""
    train, val = split_masks(ds)
    return ds.subset(val if val.any() else train)


def load_trained_terrain_tiles(data_root: Path, runs: Path) -> ImageSet:
    """RSSCN7 decoded at the size the terrain classifier was trained from (its result file)."""
    size = read_json(Path(runs) / "terrain" / "result.json").get("cacheSize", 112)
    return load_terrain(data_root, size, cache_dir(runs))


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [0, 1]."""
    return torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float().div_(255.0)


def normalise(x: torch.Tensor, mean, std) -> torch.Tensor:
    m = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=x.shape[-1] > size)


def augment(x: torch.Tensor, out_size: int, gen: torch.Generator, *, scale=(0.5, 1.0),
            rot90: bool = True, vflip: bool = True, colour: float = 0.2, grey: float = 0.0) -> torch.Tensor:
    """Batched random resized crop, flips, 90-degree rotations, colour jitter and, with
    probability `grey`, conversion to grey (photos from greyscale sets such as 15-Scene).

    One affine grid per sample does crop, flip and rotation in a single resampling, so
    the same code runs on CPU and GPU without per-image Python loops.
    """
    n = x.shape[0]
    dev = x.device

    def rnd(*shape):
        return torch.rand(*shape, generator=gen).to(dev)

    area = scale[0] + (scale[1] - scale[0]) * rnd(n)
    s = area.sqrt()                                    # side of the crop relative to the image
    tx = (1 - s) * (rnd(n) * 2 - 1)
    ty = (1 - s) * (rnd(n) * 2 - 1)
    k = (rnd(n) * 4).floor() if rot90 else torch.zeros(n, device=dev)
    ang = k * (math.pi / 2)
    cos, sin = torch.cos(ang), torch.sin(ang)
    fx = torch.where(rnd(n) < 0.5, -1.0, 1.0)
    fy = torch.where(rnd(n) < 0.5, -1.0, 1.0) if vflip else torch.ones(n, device=dev)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = s * cos * fx
    theta[:, 0, 1] = -s * sin * fy
    theta[:, 1, 0] = s * sin * fx
    theta[:, 1, 1] = s * cos * fy
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    src = x
    if x.shape[-1] > 2 * out_size:                      # avoid aliasing when shrinking a lot
        src = resize(x, 2 * out_size)
    grid = F.affine_grid(theta, (n, 3, out_size, out_size), align_corners=False)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if colour > 0:
        b = 1 + colour * (rnd(n, 1, 1, 1) * 2 - 1)
        c = 1 + colour * (rnd(n, 1, 1, 1) * 2 - 1)
        sat = 1 + colour * (rnd(n, 1, 1, 1) * 2 - 1)
        flat = out.mean(dim=1, keepdim=True)
        out = flat + (out - flat) * sat
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        out = (out - mean) * c + mean
        out = (out * b).clamp(0, 1)
    if grey > 0:
        lum = (out * torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)).sum(1, keepdim=True)
        out = torch.where(rnd(n, 1, 1, 1) < grey, lum.expand_as(out), out)
    return out


def channel_stats(images: np.ndarray, limit: int = 4000) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 NHWC images in [0, 1], from up to `limit` images."""
    x = torch.from_numpy(images[:limit]).float().div(255)
    return (tuple(round(float(v), 4) for v in x.mean(dim=(0, 1, 2))),
            tuple(round(float(v), 4) for v in x.std(dim=(0, 1, 2))))


def class_weights(labels: np.ndarray, n_classes: int, power: float = 1.0) -> torch.Tensor:
    """Inverse-frequency weights raised to `power` (1: fully balanced, 0.5: square root, 0:
    none), normalised to mean 1, for imbalanced classes."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = (counts.sum() / np.maximum(counts, 1) / n_classes) ** power
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def data_root(args) -> Path:
    """The shared data (`--data`), or with `--dry-run` a tiny synthetic set in a temporary folder."""
    if args.dry_run:
        return make_synthetic_data(Path(tempfile.mkdtemp(prefix="gv-dry-")))
    return Path(args.data)


def make_synthetic_data(root: Path, per_class: int = 6, seed: int = 0) -> Path:
    """A tiny fake copy of the shared-data layout for --dry-run and tests.

    Each class gets its own colour and stripe frequency so that a few steps of training
    see a learnable signal.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    for ci, cls in enumerate(TERRAIN_CLASSES):
        d = root / "rsscn7" / cls
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            _synthetic_image(rng, ci, 224).save(d / f"{cls}{i:03d}.jpg")
    rows = [("intel6", "forest", "forest"), ("intel6", "sea", "water"), ("miniplaces", "corn_field", "field"),
            ("miniplaces", "highway", "road"), ("miniplaces", "skyscraper", "urban"),
            ("miniplaces", "mountain", "mountain"), ("miniplaces", "iceberg", "snow_ice"),
            ("miniplaces", "desert_sand", "desert"), ("miniplaces", "badlands", "barren"),
            ("miniplaces", "swamp", "wetland")]
    (root / "ground").mkdir(parents=True, exist_ok=True)
    with open(root / "ground" / "CLASS_MAP.csv", "w") as f:
        f.write("dataset,source_class,suggested_terrain_class,n_images,colour\n")
        for ds, src, terr in rows:
            f.write(f"{ds},{src},{terr},{per_class},rgb\n")
            d = root / "ground" / ds / src
            d.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                _synthetic_image(rng, SCENE_CLASSES.index(terr), 128).save(d / f"{src}{i:03d}.jpg")
    return root


def _synthetic_image(rng: np.random.Generator, ci: int, size: int) -> Image.Image:
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.array([(ci * 37) % 255, (ci * 91) % 255, (ci * 53) % 255], dtype=np.float64)
    stripes = np.sin(2 * np.pi * (ci + 1) * (xx + yy))[..., None] * 40
    img = base + stripes + rng.normal(0, 10, (size, size, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
