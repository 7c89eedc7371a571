"""Mosaics whose terrain changes inside tiles, for measuring terrain grids (issue 13).

A canvas of `tiles` x `tiles` map tiles of `tile` px is cut into blocks of `block` px; blobs
of blocks (a Voronoi partition of the block grid around random seeds) each get one terrain
and one aerial scene of that terrain, and every block of a blob shows the scene's pixels at
that place of the canvas (scenes repeat across a large blob), so textures are continuous
inside a blob and change at its edges. The truth is known per block.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Mosaic:
    image: np.ndarray          # (H, W, 3) uint8
    blocks: np.ndarray         # (H / block, W / block) int: terrain index per block
    block: int
    tile: int

    def tile_image(self, ty: int, tx: int) -> np.ndarray:
        t = self.tile
        return self.image[ty * t:(ty + 1) * t, tx * t:(tx + 1) * t]

    def truth_cells(self, cells: int) -> np.ndarray:
        """(tiles*cells, tiles*cells) terrain index per grid cell (cells per tile side)."""
        per_block = cells * self.block // self.tile
        if per_block < 1 or cells * self.block % self.tile:
            raise ValueError(f"{cells} cells a tile do not divide blocks of {self.block} px in tiles of {self.tile} px")
        return np.kron(self.blocks, np.ones((per_block, per_block), dtype=self.blocks.dtype))


def make_mosaic(images: np.ndarray, labels: np.ndarray, n_classes: int, rng: np.random.Generator, *,
                tiles: int = 4, tile: int = 256, block: int = 64, blob_blocks: float = 6.0) -> Mosaic:
    """`images` (N, S, S, 3) uint8 scenes with `labels`; blobs of about `blob_blocks` blocks."""
    nb = tiles * tile // block
    n_seeds = max(2, int(round(nb * nb / blob_blocks)))
    seeds = rng.uniform(0, nb, size=(n_seeds, 2))
    yy, xx = np.mgrid[0:nb, 0:nb] + 0.5
    d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    owner = d.argmin(-1)
    by_class = [np.nonzero(labels == c)[0] for c in range(n_classes)]
    present = np.array([c for c in range(n_classes) if len(by_class[c])])
    seed_class = rng.choice(present, size=n_seeds)
    seed_image = np.array([rng.choice(by_class[c]) for c in seed_class])
    s = images.shape[1]
    canvas = np.empty((nb * block, nb * block, 3), dtype=np.uint8)
    for by in range(nb):
        for bx in range(nb):
            img = images[seed_image[owner[by, bx]]]
            y0, x0 = (by * block) % s, (bx * block) % s
            ys = (np.arange(block) + y0) % s
            xs = (np.arange(block) + x0) % s
            canvas[by * block:(by + 1) * block, bx * block:(bx + 1) * block] = img[ys][:, xs]
    return Mosaic(canvas, seed_class[owner], block, tile)


def iou_by_class(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> dict[int, float]:
    """IoU of each class present in the truth or the prediction."""
    out = {}
    for c in range(n_classes):
        p, t = pred == c, truth == c
        union = (p | t).sum()
        if union:
            out[c] = float((p & t).sum() / union)
    return out
