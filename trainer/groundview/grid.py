"""The terrain grid inside a tile: class activation maps of the terrain classifier, cleaned.

A SmallResNet ends in global average pooling and a linear head, and both are linear, so the
head applied at every position of the last feature map (a 1x1 convolution) gives per-place
logits whose mean is exactly the tile's logits (Zhou et al., "Learning Deep Features for
Discriminative Localization", CVPR 2016). Upsampled bilinearly to `cells` x `cells`, that is
the terrain grid; one forward pass serves both the tile's probabilities and its grid.

clean_grid is the reference for the service's cleaning (src/terrain/grid-clean.ts): a 3x3
majority filter, then pieces smaller than `min_cells` cells join the class that surrounds them
most. Both are tested against the same cases.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def prepare_tiles(x_uint8: np.ndarray, size: int, mean, std, device, gen: torch.Generator | None = None,
            colour: float = 0.0) -> torch.Tensor:
    """uint8 NHWC tiles -> the classifier's normalised input (resized with antialiasing, as sharp
    resizes in the service), with optional brightness/contrast jitter."""
    x = torch.from_numpy(np.ascontiguousarray(x_uint8)).permute(0, 3, 1, 2).float().div_(255.0)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    if colour > 0 and gen is not None:
        n = x.shape[0]
        b = 1 + colour * (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1)
        c = 1 + colour * (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1)
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (((x - m) * c + m) * b).clamp(0, 1)
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return x.to(device)


def grid_logits(model, x: torch.Tensor, cells: int) -> torch.Tensor:
    """(N, C, cells, cells) logits of a SmallResNet on normalised input x."""
    feat = model.trunk(x)
    w = model.head.weight[:, :, None, None]
    cam = F.conv2d(feat, w, model.head.bias)
    return F.interpolate(cam, size=(cells, cells), mode="bilinear", align_corners=False)


class GridExport(torch.nn.Module):
    """ONNX wrapper: image -> (probabilities (N, C), grid probabilities (N, C, cells, cells))."""

    def __init__(self, model, cells: int):
        super().__init__()
        self.model, self.cells = model, cells

    def forward(self, x):
        feat = self.model.trunk(x)
        w = self.model.head.weight[:, :, None, None]
        cam = F.conv2d(feat, w, self.model.head.bias)
        probs = torch.softmax(cam.mean((2, 3)), 1)
        grid = F.interpolate(cam, size=(self.cells, self.cells), mode="bilinear", align_corners=False)
        return probs, torch.softmax(grid, 1)


def _majority(labels: np.ndarray, n: int) -> np.ndarray:
    h, w = labels.shape
    votes = np.zeros((n, h, w), dtype=np.int32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ys = np.clip(np.arange(h) + dy, 0, h - 1)
            xs = np.clip(np.arange(w) + dx, 0, w - 1)
            shifted = labels[ys][:, xs]
            for c in range(n):
                votes[c] += shifted == c
    # Ties keep the cell's own class when it is among the most voted, else the lowest index.
    best = votes.max(0)
    own = np.take_along_axis(votes, labels[None], 0)[0]
    return np.where(own == best, labels, votes.argmax(0))


def _components(labels: np.ndarray) -> list[list[tuple[int, int]]]:
    h, w = labels.shape
    seen = np.zeros_like(labels, dtype=bool)
    out = []
    for y in range(h):
        for x in range(w):
            if seen[y, x]:
                continue
            comp, stack = [], [(y, x)]
            seen[y, x] = True
            while stack:
                cy, cx = stack.pop()
                comp.append((cy, cx))
                for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                    if 0 <= ny < h and 0 <= nx < w and not seen[ny, nx] and labels[ny, nx] == labels[y, x]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
            out.append(comp)
    return out


def clean_grid(probs: np.ndarray, min_cells: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(labels, confidence) per cell from (C, H, W) probabilities; confidence is the cell's
    probability of its final class."""
    n = probs.shape[0]
    labels = _majority(probs.argmax(0), n)
    for _ in range(4):
        changed = False
        for comp in sorted(_components(labels), key=len):
            if len(comp) >= min_cells or len(comp) == labels.size:
                continue
            c = labels[comp[0]]
            votes = np.zeros(n, dtype=np.int64)
            for y, x in comp:
                for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                    if 0 <= ny < labels.shape[0] and 0 <= nx < labels.shape[1] and labels[ny, nx] != c:
                        votes[labels[ny, nx]] += 1
            if votes.sum():
                new = int(votes.argmax())
                for y, x in comp:
                    labels[y, x] = new
                changed = True
        if not changed:
            break
    conf = np.take_along_axis(probs, labels[None], 0)[0]
    return labels, conf


class GridHead(torch.nn.Module):
    """A light decoder on a frozen SmallResNet trunk: its stride-4, -8 and -16 features to
    per-place terrain logits at stride 8, added to the class activation map (which it refines
    rather than replaces), upsampled to `cells` x `cells`. The classifier's own head still
    gives the tile's probabilities, so they do not change.

    With `tune_branch`, the grid reads a trainable copy of the trunk's last two stages (stride
    8 and 16, at 14x14 and 7x7: a small share of the network's work) and of the head, while the
    tile's probabilities keep reading the frozen originals."""

    def __init__(self, model, cells: int, n_classes: int, width: int = 64, tune_branch: bool = False):
        super().__init__()
        self.model, self.cells = model, cells
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.branch = None
        if tune_branch:
            import copy
            self.branch = copy.deepcopy(model.trunk[3:])
            self.branch_head = copy.deepcopy(model.head)
            for p in list(self.branch.parameters()) + list(self.branch_head.parameters()):
                p.requires_grad_(True)
        ch4, ch8, ch16 = 64, 128, model.embed_dim

        def cbr(cin, cout, k=3, stride=1):
            return torch.nn.Sequential(torch.nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
                                       torch.nn.BatchNorm2d(cout), torch.nn.ReLU(inplace=True))
        self.p4 = cbr(ch4, width // 2, 3, 2)
        self.p8 = cbr(ch8, width, 1)
        self.p16 = cbr(ch16, width, 1)
        self.mix = torch.nn.Sequential(cbr(2 * width + width // 2, width), cbr(width, width))
        self.out = torch.nn.Conv2d(width, n_classes, 1)
        torch.nn.init.zeros_(self.out.weight)
        torch.nn.init.zeros_(self.out.bias)

    def train(self, mode: bool = True):
        super().train(mode)
        self.model.eval()                   # the trunk is frozen, its BatchNorm statistics too
        if self.branch is not None:
            self.branch.eval()              # BatchNorm folded into the convolutions: kept as fixed affines
        return self

    def features(self, x):
        t = self.model.trunk
        f4 = t[:3](x)
        f8 = t[3:5](f4)
        f16 = t[5:](f8)
        return f4, f8, f16

    def forward_logits(self, x):
        f4, f8, f16 = self.features(x)
        tile_logits = self.model.head(F.adaptive_avg_pool2d(f16, 1).flatten(1))
        head = self.model.head
        if self.branch is not None:
            f8 = self.branch[:2](f4)
            f16 = self.branch[2:](f8)
            head = self.branch_head
        size = f8.shape[-2:]
        w = head.weight[:, :, None, None]
        cam = F.interpolate(F.conv2d(f16, w, head.bias), size=size, mode="bilinear", align_corners=False)
        up16 = F.interpolate(self.p16(f16), size=size, mode="bilinear", align_corners=False)
        d = self.mix(torch.cat([self.p4(f4), self.p8(f8), up16], 1))
        grid = F.interpolate(cam + self.out(d), size=(self.cells, self.cells), mode="bilinear", align_corners=False)
        return tile_logits, grid

    def forward(self, x):
        """ONNX outputs: tile probabilities (N, C) and grid probabilities (N, C, cells, cells)."""
        tile_logits, grid = self.forward_logits(x)
        return torch.softmax(tile_logits, 1), torch.softmax(grid, 1)


def random_tiles(images: np.ndarray, labels: np.ndarray, n_classes: int, rng: np.random.Generator, count: int,
                 tile: int = 256, cells: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Training tiles whose terrain changes inside them: 1-6 Voronoi blobs on a grid of random
    blocks (16-96 px, random offset), each filled with a randomly turned scene of its terrain.
    Returns (count, tile, tile, 3) uint8 and the (count, cells, cells) terrain at cell centres."""
    by_class = [np.nonzero(labels == c)[0] for c in range(n_classes)]
    present = np.array([c for c in range(n_classes) if len(by_class[c])])
    s = images.shape[1]
    out = np.empty((count, tile, tile, 3), dtype=np.uint8)
    target = np.empty((count, cells, cells), dtype=np.int64)
    py, px = np.mgrid[0:tile, 0:tile]
    centres = (np.arange(cells) * tile // cells + tile // (2 * cells))
    for b in range(count):
        k = int(rng.choice([1, 2, 2, 3, 3, 4, 5, 6]))
        block = int(rng.choice([16, 32, 48, 64, 64, 96]))
        nb = tile // block + 2
        oy, ox = rng.integers(0, block, 2)
        seeds = rng.uniform(0, nb, (k, 2))
        by, bx = np.mgrid[0:nb, 0:nb] + 0.5
        owner_b = ((by[..., None] - seeds[:, 0]) ** 2 + (bx[..., None] - seeds[:, 1]) ** 2).argmin(-1)
        owner = owner_b[(py + oy) // block, (px + ox) // block]
        cls = rng.choice(present, k)
        for j in range(k):
            img = images[rng.choice(by_class[cls[j]])]
            img = np.rot90(img, int(rng.integers(0, 4)))
            if rng.random() < 0.5:
                img = img[:, ::-1]
            sy, sx = rng.integers(0, s, 2)
            ys, xs = (np.arange(tile) + sy) % s, (np.arange(tile) + sx) % s
            m = owner == j
            out[b][m] = img[ys][:, xs][m]
        target[b] = cls[owner[centres][:, centres]]
    return out, target
