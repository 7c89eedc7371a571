"""Terrain change between two dates of a tile (issue 14): a change detector on the terrain classifier.

Comparing two classifications cell by cell (post-classification comparison) adds up both dates'
errors: light, season and sensor move the classifier's answer, and on held-out mosaics whose
second date differs only in colour it flagged 6-17 % of the area as changed. ChangeHead instead
reads both dates through the frozen classifier trunk, projects each date's stride-8 and -16
features (shared weights: a siamese pair), and decides per place from their absolute difference
and product (symmetric in the dates) whether the ground changed. It is trained on pairs whose
second date is the first re-shot (colour, gamma, blur, a few pixels of misregistration) with,
in most pairs, part or all of the tile replaced by other terrain; the target is "the terrain at
this cell differs". The terrains either side still come from each date's terrain grid.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageEnhance, ImageFilter

from .grid import random_tiles
from .mosaic import Mosaic


def _cbr(cin, cout, k=3):
    return torch.nn.Sequential(torch.nn.Conv2d(cin, cout, k, 1, k // 2, bias=False), torch.nn.BatchNorm2d(cout),
                               torch.nn.ReLU(inplace=True))


class ChangeHead(torch.nn.Module):
    """(image A, image B), each normalised as the terrain classifier's input -> change logits (N, cells, cells)."""

    def __init__(self, model, cells: int = 16, width: int = 64):
        super().__init__()
        self.model, self.cells = model, cells
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.p8 = _cbr(128, width, 1)
        self.p16 = _cbr(model.embed_dim, width, 1)
        self.mix = torch.nn.Sequential(_cbr(4 * width, width), _cbr(width, width))
        self.out = torch.nn.Conv2d(width, 1, 1)

    def train(self, mode: bool = True):
        super().train(mode)
        self.model.eval()  # frozen trunk (BatchNorm folded from the ONNX file: fixed affines)
        return self

    def embed(self, x):
        t = self.model.trunk
        f8 = t[3:5](t[:3](x))
        f16 = t[5:](f8)
        up = F.interpolate(self.p16(f16), size=f8.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat([self.p8(f8), up], 1)

    def forward_logits(self, a, b):
        ea, eb = self.embed(a), self.embed(b)
        d = self.mix(torch.cat([(ea - eb).abs(), ea * eb], 1))
        return F.interpolate(self.out(d), size=(self.cells, self.cells), mode="bilinear", align_corners=False)[:, 0]

    def forward(self, a, b):
        """ONNX output: the probability that each cell's terrain changed, (N, cells, cells)."""
        return torch.sigmoid(self.forward_logits(a, b))


def reshoot(tile: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The tile as another flight would see it: light, season tint and sensor differ."""
    gains = rng.uniform(0.9, 1.1, size=3).astype(np.float32)
    x = np.clip(tile.astype(np.float32) / 255.0 * gains, 0, 1) ** float(rng.uniform(0.85, 1.15))
    img = Image.fromarray((x * 255 + 0.5).astype(np.uint8))
    img = ImageEnhance.Brightness(img).enhance(float(rng.uniform(0.75, 1.3)))
    img = ImageEnhance.Contrast(img).enhance(float(rng.uniform(0.75, 1.3)))
    img = ImageEnhance.Color(img).enhance(float(rng.uniform(0.7, 1.3)))
    if rng.random() < 1 / 3:
        img = img.filter(ImageFilter.GaussianBlur(0.6))
    return img


def cell_blobs(cells: int, rng: np.random.Generator) -> np.ndarray:
    """A random part of a cells x cells grid made of Voronoi blobs (bool)."""
    k = int(rng.integers(2, 7))
    seeds = rng.uniform(0, cells, (k, 2))
    yy, xx = np.mgrid[0:cells, 0:cells] + 0.5
    owner = ((yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2).argmin(-1)
    take = rng.random(k) < rng.uniform(0.2, 0.7)
    if not take.any():
        take[int(rng.integers(k))] = True
    return take[owner]


def change_pairs(images: np.ndarray, labels: np.ndarray, n_classes: int, rng: np.random.Generator, count: int,
                 tile: int = 256, cells: int = 16, p_same: float = 0.35, p_swap: float = 0.15, max_shift: int = 3):
    """`count` pairs of tiles (uint8, (count, tile, tile, 3) each) and the (count, cells, cells)
    truth that the terrain changed. Both dates are re-shot; B is shifted a few pixels."""
    a, la = random_tiles(images, labels, n_classes, rng, count, tile=tile, cells=cells)
    o, lo = random_tiles(images, labels, n_classes, rng, count, tile=tile, cells=cells)
    b, lb = a.copy(), la.copy()
    px = tile // cells
    for i in range(count):
        u = rng.random()
        if u < p_same:
            continue
        if u < p_same + p_swap:
            b[i], lb[i] = o[i], lo[i]
            continue
        m = cell_blobs(cells, rng)
        pm = np.kron(m, np.ones((px, px), dtype=bool))
        b[i][pm] = o[i][pm]
        lb[i][m] = lo[i][m]
    for i in range(count):
        if rng.random() < 0.5:
            a[i] = np.asarray(reshoot(a[i], rng))
        b[i] = np.asarray(reshoot(b[i], rng))
        if max_shift:
            dy, dx = rng.integers(-max_shift, max_shift + 1, 2)
            b[i] = np.roll(b[i], (int(dy), int(dx)), axis=(0, 1))
    return a, b, la != lb


def change_scores(prob: np.ndarray, truth: np.ndarray, jitter_only: np.ndarray, thresholds) -> list[dict]:
    """Per threshold: precision and recall of the changed cells, and the share of cells of the
    jitter-only pairs flagged. prob, truth (N, cells, cells); jitter_only (N,) bool."""
    out = []
    for t in thresholds:
        flag = prob >= t
        tp = float((flag & truth).sum())
        fp = float((flag & ~truth).sum())
        fn = float((~flag & truth).sum())
        p = tp / max(1.0, tp + fp)
        r = tp / max(1.0, tp + fn)
        out.append({"threshold": float(t), "precision": round(p, 4), "recall": round(r, 4),
                    "f1": round(2 * p * r / max(1e-9, p + r), 4),
                    "falseChangeShare": round(float(flag[jitter_only].mean()) if jitter_only.any() else 0.0, 4)})
    return out


def changed_mosaic(m: Mosaic, images: np.ndarray, labels: np.ndarray, n_classes: int, others: list[Mosaic],
                   rng: np.random.Generator, blobs: bool = True) -> Mosaic:
    """The mosaic with real change: part of one or two of its terrains given a scene of another
    terrain (new housing on a field, a drained lake; unless not `blobs`), and one or two tiles
    swapped for tiles of another place (`others`)."""
    image = m.image.copy()
    blocks = m.blocks.copy()
    b, s = m.block, images.shape[1]
    present = np.unique(blocks)
    for c in rng.choice(present, size=min(len(present), int(rng.integers(1, 3))), replace=False) if blobs else []:
        new_c = int(rng.choice([k for k in range(n_classes) if k != c and (labels == k).any()]))
        scene = images[int(rng.choice(np.nonzero(labels == new_c)[0]))]
        ys, xs = np.nonzero(blocks == c)
        # Only part of that terrain changes: the blocks nearest a random one of them.
        pick = int(rng.integers(len(ys)))
        d = (ys - ys[pick]) ** 2 + (xs - xs[pick]) ** 2
        take = d <= np.quantile(d, rng.uniform(0.3, 0.7))
        for by, bx in zip(ys[take], xs[take]):
            yy = (np.arange(b) + by * b) % s
            xx = (np.arange(b) + bx * b) % s
            image[by * b:(by + 1) * b, bx * b:(bx + 1) * b] = scene[yy][:, xx]
            blocks[by, bx] = new_c
    t = m.tile
    per = t // b
    n_tiles = m.image.shape[0] // t
    for _ in range(int(rng.integers(1, 3))):
        other = others[int(rng.integers(len(others)))]
        ty, tx = rng.integers(n_tiles, size=2)
        oy, ox = rng.integers(n_tiles, size=2)
        image[ty * t:(ty + 1) * t, tx * t:(tx + 1) * t] = other.image[oy * t:(oy + 1) * t, ox * t:(ox + 1) * t]
        blocks[ty * per:(ty + 1) * per, tx * per:(tx + 1) * per] = other.blocks[oy * per:(oy + 1) * per, ox * per:(ox + 1) * per]
    return Mosaic(image, blocks, m.block, m.tile)
