#!/usr/bin/env python3
"""Trains the landscape generator (latent d -> 128x128 RGB) adversarially on ground-level photos.

The generator is the decoder of a VAE-GAN: a photo encoder, used only here, gives the
decoder a reconstruction signal that converges in the few CPU epochs we can afford, the KL
term makes N(0, I) the generator's prior, and a spectral-normalised PatchGAN discriminator
(hinge loss) sees both reconstructions and prior samples, which sharpens them. With a
trained scene classifier (--scene-model) its embedding adds a perceptual term, and the
Fréchet distance in that embedding space is measured on held-out photos.

--sweep 4,8,16,32 trains each latent size for --sweep-minutes, measures that Fréchet
distance for prior samples, and continues training the best one: d is chosen by measurement.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import base_parser, setup, write_json  # noqa: E402
from groundview.data import data_root, load_ground, resize, split_masks, to_tensor  # noqa: E402
from groundview.models import Discriminator, Generator, PhotoEncoder  # noqa: E402
from groundview.pipeline import load_scene, scene_fd, scene_input  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402


class VaeGan:
    def __init__(self, d: int, device, lr: float):
        self.d, self.device = d, device
        self.G, self.E, self.D = Generator(d).to(device), PhotoEncoder(d).to(device), Discriminator().to(device)
        self.opt_ge = torch.optim.Adam(list(self.G.parameters()) + list(self.E.parameters()), lr=lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.999))
        self.steps = 0

    def state(self):
        return {"d": self.d, "G": self.G.state_dict(), "E": self.E.state_dict(), "D": self.D.state_dict(),
                "opt_ge": self.opt_ge.state_dict(), "opt_d": self.opt_d.state_dict(), "steps": self.steps}

    def load(self, s):
        for k in ("G", "E", "D", "opt_ge", "opt_d"):
            getattr(self, k).load_state_dict(s[k])
        self.steps = s["steps"]

    def step(self, x: torch.Tensor, gen: torch.Generator, w: dict, scene) -> dict:
        """One VAE-GAN step on a batch of real photos in [-1, 1] (N,3,128,128)."""
        self.G.train(); self.E.train(); self.D.train()
        n = x.shape[0]
        mu, logvar = self.E(resize(x, 64))
        z = mu + torch.randn(mu.shape, generator=gen).to(self.device) * torch.exp(0.5 * logvar)
        zp = torch.randn(max(1, n // 2), self.d, generator=gen).to(self.device)
        rec, prior = self.G(z), self.G(zp)
        # Discriminator: real vs reconstructions and prior samples (hinge).
        d_real = self.D(x)
        d_fake = self.D(torch.cat([rec.detach(), prior.detach()]))
        loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        # Generator + photo encoder.
        l1 = (rec - x).abs().mean()
        kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum(1).mean()
        adv = -self.D(torch.cat([rec, prior])).mean()
        loss = w["rec"] * l1 + w["kl"] * kl / (128 * 128 * 3) * 64 + w["adv"] * adv
        perc = torch.zeros(())
        if scene is not None:
            sm, meta = scene
            perc = F.mse_loss(sm.embed(scene_input(rec, meta)), sm.embed(scene_input(x, meta)))
            loss = loss + w["perc"] * perc
        self.opt_ge.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_ge.step()
        self.steps += 1
        return {"l1": float(l1), "kl": float(kl), "adv": float(adv), "d": float(loss_d), "perc": float(perc)}

    @torch.no_grad()
    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        self.G.eval()
        return self.G(torch.randn(n, self.d, generator=gen).to(self.device))


def train_for(model: VaeGan, train_images: np.ndarray, minutes: float, batch: int, gen, w, scene, name: str,
              max_steps: int | None = None) -> list[dict]:
    t0, log, last = time.time(), [], time.time()
    while time.time() - t0 < minutes * 60 and (max_steps is None or len(log) < max_steps):
        idx = np.sort(torch.randint(0, len(train_images), (batch,), generator=gen).numpy())
        x = to_tensor(train_images[idx], model.device)
        x = torch.where(torch.rand(batch, 1, 1, 1, generator=gen).to(model.device) < 0.5, x, x.flip(3)) * 2 - 1
        log.append(model.step(x, gen, w, scene))
        if time.time() - last > 30 or len(log) == 1:
            last = time.time()
            recent = {k: float(np.mean([r[k] for r in log[-50:]])) for k in log[-1]}
            spent = time.time() - t0
            print(f"[{name}] step {model.steps} " + " ".join(f"{k}={v:.4f}" for k, v in recent.items())
                  + f" elapsed={spent:.0f}s left~{max(0, minutes * 60 - spent):.0f}s", flush=True)
    return log


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--latent-dim", type=int, default=16)
    p.add_argument("--sweep", default="", help="comma-separated latent sizes to compare, e.g. 4,8,16,32")
    p.add_argument("--sweep-minutes", type=float, default=3.0)
    p.add_argument("--minutes", type=float, default=20.0, help="training time budget for the final model")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--w-rec", type=float, default=1.0)
    p.add_argument("--w-kl", type=float, default=1.0)
    p.add_argument("--w-adv", type=float, default=0.05)
    p.add_argument("--w-perc", type=float, default=0.5)
    p.add_argument("--fd-samples", type=int, default=1000)
    args = p.parse_args(argv)
    device = setup(args)
    runs, data = Path(args.runs), data_root(args)
    max_steps = None
    if args.dry_run:
        args.minutes, args.sweep_minutes, args.batch, args.fd_samples, max_steps = 0.2, 0.1, 4, 250, 2
    ds = load_ground(data, 128, cache_dir(runs))
    tr_mask, va_mask = split_masks(ds)
    train_images = ds.images[tr_mask]
    val_images = ds.images[va_mask] if va_mask.any() else ds.images[tr_mask]
    scene = load_scene(runs, device)
    w = {"rec": args.w_rec, "kl": args.w_kl, "adv": args.w_adv, "perc": args.w_perc}
    gen = torch.Generator().manual_seed(args.seed)
    print(f"[generator] train={len(train_images)} val={len(val_images)} scene-model={'yes' if scene else 'no'} device={device}", flush=True)
    sweep = []
    candidates = [int(s) for s in args.sweep.split(",") if s] or [args.latent_dim]
    best = None
    for d in candidates:
        torch.manual_seed(args.seed)
        m = VaeGan(d, device, args.lr)
        if len(candidates) > 1:
            train_for(m, train_images, args.sweep_minutes, args.batch, gen, w, scene, f"sweep d={d}", max_steps)
            fd = scene_fd(m.sample, scene, val_images, args.fd_samples, args.seed, device) if scene else float("nan")
            print(f"[generator] sweep d={d}: scene-embedding FD={fd:.3f} after {m.steps} steps", flush=True)
            sweep.append({"latentDim": d, "steps": m.steps, "sceneEmbeddingFD": fd})
            if best is None or fd < best[1]:
                best = (m, fd)
        else:
            best = (m, float("nan"))
    model = best[0]
    print(f"[generator] training d={model.d} for {args.minutes} min", flush=True)
    log = train_for(model, train_images, args.minutes, args.batch, gen, w, scene, f"generator d={model.d}", max_steps)
    result = {"latentDim": model.d, "steps": model.steps, "sweep": sweep, "weights": w, "batch": args.batch,
              "finalLosses": {k: float(np.mean([r[k] for r in log[-100:]])) for k in log[-1]} if log else {},
              "dryRun": args.dry_run}
    if scene:
        result["sceneEmbeddingFD"] = scene_fd(model.sample, scene, val_images, args.fd_samples, args.seed, device)
        print(f"[generator] scene-embedding FD={result['sceneEmbeddingFD']:.3f}", flush=True)
    out = runs / "generator"
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state(), out / "vaegan.pt")
    write_json(out / "result.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
