"""The runs folder (`--runs`, default trainer/runs): where each training step writes what the next
reads. One place for its layout:

    cache/                decoded images (load_terrain / load_ground), shared by every step
    <step>/result.json    a step's metrics and preprocessing (terrain, scene, generator, encoder, validation, judge, ...)
    <step>/model.pt       its weights (the classifiers, the encoder); generator/vaegan.pt for the VAE-GAN
    gan/                  the landscape GAN: data/, ckpt/, best/, metrics.jsonl
"""
from __future__ import annotations

from pathlib import Path

import torch

from .common import read_json
from .models import SmallResNet


def cache_dir(runs: Path | str) -> Path:
    """Decoded images, shared by every step."""
    return Path(runs) / "cache"


def step_dir(runs: Path | str, step: str) -> Path:
    return Path(runs) / step


def step_result(runs: Path | str, step: str) -> dict:
    """A step's result.json."""
    return read_json(step_dir(runs, step) / "result.json")


def weights(runs: Path | str, step: str, device) -> dict:
    """A step's model.pt."""
    return torch.load(step_dir(runs, step) / "model.pt", map_location=device)


def load_small_resnet(runs: Path | str, step: str, n_classes: int, device, frozen: bool = False) -> SmallResNet:
    """A trained SmallResNet classifier (terrain or scene) in eval mode; `frozen`: no gradients."""
    m = SmallResNet(n_classes)
    m.load_state_dict(weights(runs, step, device))
    m.to(device).eval()
    if frozen:
        for p in m.parameters():
            p.requires_grad_(False)
    return m
