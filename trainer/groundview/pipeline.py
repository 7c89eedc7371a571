"""The trained scene classifier and VAE-GAN generator as the later training steps load and measure
them (train_generator.py trains the generator, train_encoder.py the encoder through both, and
export.py measures all of them): loading from the runs folder, the scene classifier's input from
generated pictures, the Fréchet distance in its embedding space, and terrain consistency.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .common import SCENE_CLASSES
from .data import normalise, resize, to_tensor
from .metrics import frechet_distance
from .models import Generator
from .runs import load_small_resnet, step_dir, step_result


def load_scene(runs: Path, device):
    """The trained scene classifier and its preprocessing, or None when it has not been trained."""
    if not (step_dir(runs, "scene") / "result.json").exists():
        return None
    return load_small_resnet(runs, "scene", len(SCENE_CLASSES), device, frozen=True), step_result(runs, "scene")


def scene_input(img_m11: torch.Tensor, meta) -> torch.Tensor:
    """Generator output in [-1, 1] -> the scene classifier's normalised input."""
    return normalise(resize((img_m11 + 1) / 2, meta["inputSize"]), meta["mean"], meta["std"])


@torch.no_grad()
def scene_fd(sample, scene, real_images: np.ndarray, n: int, seed: int, device) -> float:
    """Fréchet distance in the scene classifier's embedding space: n prior samples (`sample(k,
    generator)` gives k images in [-1, 1]) vs n real photos drawn at random from `real_images`."""
    sm, meta = scene
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        fake = torch.cat([sm.embed(scene_input(sample(250, gen), meta)).cpu() for _ in range(max(1, n // 250))])
        pick = np.sort(torch.randperm(len(real_images), generator=gen)[:n].numpy())
        real = []
        for i in range(0, len(pick), 250):
            x = to_tensor(real_images[pick[i:i + 250]], device) * 2 - 1
            real.append(sm.embed(scene_input(x, meta)).cpu())
    return frechet_distance(fake.numpy().astype(np.float64), torch.cat(real).numpy().astype(np.float64))


def load_generator(runs: Path, device) -> Generator:
    s = torch.load(step_dir(runs, "generator") / "vaegan.pt", map_location=device)
    g = Generator(s["d"])
    g.load_state_dict(s["G"])
    g.to(device).eval()
    for p in g.parameters():
        p.requires_grad_(False)
    return g


@torch.no_grad()
def encode_generate_classify(enc, gen_model, scene, images: np.ndarray, tmeta, device, batch=256):
    """Latents, generated images (in [-1, 1]) and scene probabilities for uint8 tiles."""
    sm, smeta = scene
    enc.eval()
    zs, imgs, probs = [], [], []
    for i in range(0, len(images), batch):
        x = normalise(resize(to_tensor(images[i:i + batch], device), tmeta["inputSize"]), tmeta["mean"], tmeta["std"])
        z = enc(x)
        img = gen_model(z)
        zs.append(z.cpu()); imgs.append(img.cpu())
        probs.append(torch.softmax(sm(scene_input(img, smeta)), 1).cpu())
    return torch.cat(zs), torch.cat(imgs), torch.cat(probs)


def terrain_consistency(probs: torch.Tensor, labels: np.ndarray, m: np.ndarray) -> float:
    """Share of tiles whose generated landscape is classified into a compatible ground terrain."""
    pred = probs.argmax(1).numpy()
    return float((m[labels, pred] > 0).mean())
