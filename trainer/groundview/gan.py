"""The conditional landscape GAN: generator, projection discriminator, DiffAugment, per-tile
noise, weight EMA and checkpoints.

Generator (what the service runs): the tile's terrain probabilities p (7), the encoder's
latent for the tile (8) and per-tile noise (56) -> a 128x128 photo in [-1, 1]. Inside the
graph, p becomes a distribution over the ground scene classes the generator was trained on,
c = p . M_g (M_g: the compatibility matrix restricted to those classes, rows renormalised),
so a lake shore (water and grass) asks for a water/field mixture. c and z = [latent, noise]
condition every layer through conditional BatchNorm (BigGAN, Brock et al. 2019); upsampling
is nearest-neighbour resize then 3x3 convolution (no transposed convolution: no checkerboard,
Odena et al. 2016).

Discriminator: spectral-normalised residual network (Miyato et al. 2018) with projection
conditioning on c (Miyato & Koyama 2018), trained with the hinge loss, R1 on real photos
(lazy), and DiffAugment (colour, translation, cutout; Zhao et al. 2020) on everything it sees.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import SCENE_CLASSES
from .compat import compatibility_matrix

LATENT_DIM = 8          # the encoder's latent (the service's `latent`)
NOISE_DIM = 56          # per-tile noise, drawn by tile_noise()
SIZE = 128

# Source classes of ground/CLASS_MAP.csv whose photos the generator learns from: outdoor places a
# person could stand in on one of RSSCN7's aerial terrains. Snow and ice, deserts, canyons and
# volcanoes get no more than 5 % of any terrain's row of the compatibility matrix (most get 0)
# and are left out; so are frames that are near-uniform or mislabelled (prepare_gan_data.py).
GAN_SOURCES = (
    "intel6/forest", "intel6/sea", "intel6/buildings", "intel6/street", "intel6/mountain",
    "miniplaces/rainforest", "miniplaces/bamboo_forest", "miniplaces/corn_field", "miniplaces/golf_course",
    "miniplaces/coast", "miniplaces/river", "miniplaces/harbor", "miniplaces/swamp", "miniplaces/mountain",
    "miniplaces/valley", "miniplaces/badlands", "miniplaces/highway", "miniplaces/railroad_track",
    "miniplaces/bridge", "miniplaces/parking_lot", "miniplaces/skyscraper",
    "sun8_cmu16720/bamboo_forest", "sun8_cmu16720/campus",
)
GAN_SCENES = ("forest", "field", "water", "urban", "road", "mountain", "barren", "wetland")


def generator_condition_matrix(scenes=GAN_SCENES) -> np.ndarray:
    """M_g: rows TERRAIN_CLASSES, columns SCENE_CLASSES; the compatibility matrix with the
    scene classes the generator never saw set to 0 and every row renormalised."""
    m = compatibility_matrix().copy()
    for j, s in enumerate(SCENE_CLASSES):
        if s not in scenes:
            m[:, j] = 0
    return m / m.sum(1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Per-tile noise. The service (src/inference/tile-noise.ts) implements the same function; a
# golden file written by the trainer tests keeps the two equal.

def _fnv1a32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def _imul(a: int, b: int) -> int:
    return (a * b) & 0xFFFFFFFF


class _Mulberry32:
    def __init__(self, seed: int):
        self.state = seed & 0xFFFFFFFF

    def next(self) -> float:
        """Uniform in [0, 1) with 32 bits."""
        self.state = (self.state + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296.0


def tile_noise(seed: str, z: int, x: int, y: int, dim: int = NOISE_DIM) -> np.ndarray:
    """Standard-normal noise determined by the tile and the model's noise seed: the same tile
    always gets the same picture, two tiles get different ones, a new model version (new seed)
    draws anew. FNV-1a of "seed/z/x/y" seeds mulberry32; Box-Muller turns pairs into normals."""
    rng = _Mulberry32(_fnv1a32(f"{seed}/{z}/{x}/{y}".encode()))
    out = np.empty(dim, dtype=np.float64)
    for i in range(0, dim, 2):
        u1 = 1.0 - rng.next()                     # (0, 1]: log is finite
        u2 = rng.next()
        r = math.sqrt(-2.0 * math.log(u1))
        out[i] = r * math.cos(2 * math.pi * u2)
        if i + 1 < dim:
            out[i + 1] = r * math.sin(2 * math.pi * u2)
    return out.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Generator

class CondBN(nn.Module):
    """BatchNorm without its own affine; gain and bias come from the conditioning vector."""

    def __init__(self, ch: int, cond_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(ch, affine=False)
        self.gain = nn.Linear(cond_dim, ch)
        self.bias = nn.Linear(cond_dim, ch)
        nn.init.zeros_(self.gain.weight); nn.init.zeros_(self.gain.bias)
        nn.init.zeros_(self.bias.weight); nn.init.zeros_(self.bias.bias)

    def forward(self, x, h):
        g, b = 1 + self.gain(h), self.bias(h)
        if self.training:
            return self.bn(x) * g[:, :, None, None] + b[:, :, None, None]
        # Eval (and the exported graph): the running statistics folded into one scale and shift.
        inv = torch.rsqrt(self.bn.running_var + self.bn.eps)
        scale = g * inv
        return x * scale[:, :, None, None] + (b - self.bn.running_mean * scale)[:, :, None, None]


class GBlock(nn.Module):
    """Residual up-block: CBN-ReLU-up-conv-CBN-ReLU-conv, shortcut up-conv1x1."""

    def __init__(self, cin: int, cout: int, cond_dim: int):
        super().__init__()
        self.b1, self.b2 = CondBN(cin, cond_dim), CondBN(cout, cond_dim)
        self.c1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.sc = nn.Conv2d(cin, cout, 1)

    def forward(self, x, h):
        up = F.interpolate(x, scale_factor=2.0, mode="nearest")
        y = F.interpolate(F.relu(self.b1(x, h)), scale_factor=2.0, mode="nearest")
        y = self.c2(F.relu(self.b2(self.c1(y), h)))
        return y + self.sc(up)


class CondGenerator(nn.Module):
    """(terrain probabilities, latent, noise) -> 128x128 RGB in [-1, 1].

    Grown as ProGAN does (Karras et al. 2018): trained first at 64 px (the last block unused,
    the 64 px RGB head), then the 128 px block fades in (alpha 0 -> 1). The served graph is
    128 px with alpha 1; a generator exported before it has grown says so in the manifest
    (trainedResolution) and its 64 px picture is resized to 128 px in the graph."""

    def __init__(self, widths=(256, 192, 64, 32, 16, 8), embed_dim: int = 32,
                 latent_dim: int = LATENT_DIM, noise_dim: int = NOISE_DIM):
        super().__init__()
        self.widths = tuple(widths)
        self.latent_dim, self.noise_dim = latent_dim, noise_dim
        self.z_dim = latent_dim + noise_dim
        self.register_buffer("terrain_to_scene", torch.tensor(generator_condition_matrix(), dtype=torch.float32))
        self.embed = nn.Linear(len(SCENE_CLASSES), embed_dim, bias=False)
        cond = self.z_dim + embed_dim
        self.fc = nn.Linear(cond, widths[0] * 16)
        self.blocks = nn.ModuleList(GBlock(a, b, cond) for a, b in zip(widths[:-1], widths[1:]))
        self.rgb64 = nn.Sequential(nn.BatchNorm2d(widths[-2]), nn.ReLU(), nn.Conv2d(widths[-2], 3, 3, 1, 1))
        self.rgb128 = nn.Sequential(nn.BatchNorm2d(widths[-1]), nn.ReLU(), nn.Conv2d(widths[-1], 3, 3, 1, 1))
        assert 4 * 2 ** len(self.blocks) == SIZE
        self.res, self.alpha = SIZE, 1.0          # what forward() produces; set while growing

    def from_scene(self, c: torch.Tensor, z: torch.Tensor, res: int | None = None, alpha: float | None = None) -> torch.Tensor:
        """c: (N, 10) distribution over SCENE_CLASSES; z: (N, latent+noise) -> (N, 3, res, res)."""
        res = self.res if res is None else res
        alpha = self.alpha if alpha is None else alpha
        h = torch.cat([z, self.embed(c)], 1)
        x = self.fc(h).view(-1, self.widths[0], 4, 4)
        for b in self.blocks[:-1]:
            x = b(x, h)
        if res == SIZE // 2:
            return torch.tanh(self.rgb64(x))
        y = self.rgb128(self.blocks[-1](x, h))
        if alpha < 1:
            y = alpha * y + (1 - alpha) * F.interpolate(self.rgb64(x), scale_factor=2.0, mode="bilinear", align_corners=False)
        return torch.tanh(y)

    def forward(self, terrain: torch.Tensor, latent: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The served graph: terrain (N, 7) probabilities, latent (N, 8), noise (N, 56) -> 128 px."""
        y = self.from_scene(terrain @ self.terrain_to_scene, torch.cat([latent, noise], 1))
        if y.shape[-1] != SIZE:
            y = F.interpolate(y, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        return y


@torch.no_grad()
def recalibrate_bn(g: CondGenerator, sample_cond, batches: int = 40, batch: int = 64, device="cpu", seed: int = 0):
    """Running BatchNorm statistics of `g` (an EMA copy has none of its own) from `batches`
    forward passes in train mode on conditions drawn by sample_cond(n, generator)."""
    gen = torch.Generator().manual_seed(seed)
    for m in g.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None                     # cumulative average over the passes
    g.train()
    for _ in range(batches):
        c = sample_cond(batch, gen).to(device)
        z = torch.randn(batch, g.z_dim, generator=gen).to(device)
        g.from_scene(c, z)
    for m in g.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    g.eval()


# ---------------------------------------------------------------------------------------------
# Discriminator

def _sn(m):
    return nn.utils.spectral_norm(m)


class DBlock(nn.Module):
    def __init__(self, cin: int, cout: int, first: bool):
        super().__init__()
        self.first = first
        self.c1, self.c2 = _sn(nn.Conv2d(cin, cout, 3, 1, 1)), _sn(nn.Conv2d(cout, cout, 3, 1, 1))
        self.sc = _sn(nn.Conv2d(cin, cout, 1))

    def forward(self, x):
        y = x if self.first else F.relu(x)
        y = F.avg_pool2d(self.c2(F.relu(self.c1(y))), 2)
        s = self.sc(F.avg_pool2d(x, 2)) if self.first else F.avg_pool2d(self.sc(x), 2)
        return y + s


class ProjDiscriminator(nn.Module):
    """Image (128 or, while growing, 64 px) and scene distribution c -> realness score (N,)."""

    def __init__(self, widths=(12, 32, 64, 128, 256)):
        super().__init__()
        chans = (3,) + tuple(widths)
        self.blocks = nn.ModuleList(DBlock(a, b, i == 0) for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])))
        self.from_rgb64 = _sn(nn.Conv2d(3, widths[0], 1))
        self.linear = _sn(nn.Linear(widths[-1], 1))
        self.embed = _sn(nn.Linear(len(SCENE_CLASSES), widths[-1], bias=False))

    def forward(self, x, c, alpha: float = 1.0):
        if x.shape[-1] == SIZE // 2:
            h = self.from_rgb64(x)
        else:
            h = self.blocks[0](x)
            if alpha < 1:
                h = alpha * h + (1 - alpha) * self.from_rgb64(F.avg_pool2d(x, 2))
        for b in self.blocks[1:]:
            h = b(h)
        h = F.relu(h).sum(dim=(2, 3))
        return self.linear(h).squeeze(1) + (self.embed(c) * h).sum(1)


# ---------------------------------------------------------------------------------------------
# DiffAugment (Zhao et al. 2020, policy colour, translation, cutout), batched, on [-1, 1].

DIFF_AUGMENT_POLICIES = ("color", "translation", "cutout")


def diff_augment(x: torch.Tensor, policy: tuple[str, ...] = DIFF_AUGMENT_POLICIES) -> torch.Tensor:
    n, dev, dt = x.shape[0], x.device, x.dtype
    r = lambda *s: torch.rand(*s, device=dev, dtype=dt)  # noqa: E731
    if "color" in policy:
        x = x + (r(n, 1, 1, 1) - 0.5)
        m = x.mean(dim=1, keepdim=True)
        x = (x - m) * (r(n, 1, 1, 1) * 2) + m
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - m) * (r(n, 1, 1, 1) + 0.5) + m
    if "translation" in policy:
        x = _translate(x)
    if "cutout" in policy:
        x = _cutout(x)
    return x.contiguous()


def _translate(x: torch.Tensor) -> torch.Tensor:
    """Translation by up to 1/8 of the size, reflection padding. (DiffAugment pads with zeros;
    then the discriminator sees a grey band instead of the picture's border about half of the
    time and barely penalises artefacts there, which is where this generator's showed.)"""
    n, dev = x.shape[0], x.device
    h, w = x.shape[2], x.shape[3]
    sh, sw = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
    tx = torch.randint(-sh, sh + 1, (n, 1, 1), device=dev)
    ty = torch.randint(-sw, sw + 1, (n, 1, 1), device=dev)
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=dev), torch.arange(h, device=dev), torch.arange(w, device=dev),
                                indexing="ij")
    return x.permute(0, 2, 3, 1)[gb, _reflect(gx + tx, h), _reflect(gy + ty, w)].permute(0, 3, 1, 2)


def _reflect(i: torch.Tensor, size: int) -> torch.Tensor:
    """Indices reflected into [0, size) without repeating the edge (as F.pad's 'reflect')."""
    i = i.abs()
    return torch.where(i > size - 1, 2 * (size - 1) - i, i)


def _cutout(x: torch.Tensor) -> torch.Tensor:
    """A square of half the size set to zero."""
    n, dev, dt = x.shape[0], x.device, x.dtype
    h, w = x.shape[2], x.shape[3]
    ch, cw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
    ox = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=dev)
    oy = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=dev)
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=dev), torch.arange(ch, device=dev), torch.arange(cw, device=dev),
                                indexing="ij")
    gx = torch.clamp(gx + ox - ch // 2, 0, h - 1)
    gy = torch.clamp(gy + oy - cw // 2, 0, w - 1)
    mask = torch.ones(n, h, w, device=dev, dtype=dt)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


# ---------------------------------------------------------------------------------------------
# EMA and checkpoints

@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, beta: float) -> None:
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm.detach(), 1 - beta)
    for be, bm in zip(ema.buffers(), model.buffers()):
        be.copy_(bm)


CKPT_FILES = ("G.pt", "G_ema.pt", "D.pt", "opt_G.pt", "opt_D.pt")


def _opt_state_small(opt: torch.optim.Optimizer) -> dict:
    """Adam moments in bfloat16 (half the bytes; a resumed run re-rounds them once)."""
    sd = opt.state_dict()
    return {"param_groups": sd["param_groups"],
            "state": {k: {n: (t.to(torch.bfloat16) if torch.is_tensor(t) and t.dim() > 0 else t)
                          for n, t in v.items()} for k, v in sd["state"].items()}}


def _opt_state_full(sd: dict, device) -> dict:
    return {"param_groups": sd["param_groups"],
            "state": {k: {n: (t.to(device=device, dtype=torch.float32) if torch.is_tensor(t) and t.dim() > 0 else t)
                          for n, t in v.items()} for k, v in sd["state"].items()}}


def save_checkpoint(folder: Path, G, G_ema, D, opt_g, opt_d, meta: dict) -> None:
    """One file per part (each under the 16 MiB a device run can bring back), written to a
    temporary folder and renamed, so a kill mid-write leaves the previous checkpoint whole."""
    from .common import write_json
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    cpu = lambda sd: {k: v.detach().cpu() for k, v in sd.items()}  # noqa: E731
    torch.save(cpu(G.state_dict()), tmp / "G.pt")
    torch.save(cpu(G_ema.state_dict()), tmp / "G_ema.pt")
    torch.save(cpu(D.state_dict()), tmp / "D.pt")
    if opt_g is not None:
        torch.save(_opt_state_small(opt_g), tmp / "opt_G.pt")
        torch.save(_opt_state_small(opt_d), tmp / "opt_D.pt")
    write_json(tmp / "meta.json", meta)
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        if old.exists():
            _rmtree(old)
        folder.rename(old)
    tmp.rename(folder)
    if old.exists():
        _rmtree(old)


def load_checkpoint(folder: Path, G, G_ema, D, opt_g, opt_d, device) -> dict:
    """Loads what `folder` has: weights always, optimiser state when present (a committed
    checkpoint may leave it out; Adam then restarts its moments). Returns the meta."""
    from .common import read_json
    folder = Path(folder)
    ld = lambda f: torch.load(folder / f, map_location=device)  # noqa: E731
    G.load_state_dict(ld("G.pt"))
    G_ema.load_state_dict(ld("G_ema.pt"))
    D.load_state_dict(ld("D.pt"))
    if opt_g is not None and (folder / "opt_G.pt").exists():
        opt_g.load_state_dict(_opt_state_full(ld("opt_G.pt"), device))
        opt_d.load_state_dict(_opt_state_full(ld("opt_D.pt"), device))
    return read_json(folder / "meta.json")


def _rmtree(p: Path) -> None:
    for f in p.iterdir():
        f.unlink()
    p.rmdir()


def scene_onehot(labels: np.ndarray) -> np.ndarray:
    out = np.zeros((len(labels), len(SCENE_CLASSES)), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1
    return out
