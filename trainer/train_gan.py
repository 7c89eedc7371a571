#!/usr/bin/env python3
"""Trains the conditional landscape GAN (groundview/gan.py) for as long as it is given, and
resumes where it stopped.

Recipe: hinge loss; spectral-normalised residual discriminator with projection conditioning
on the photo's scene distribution (Miyato & Koyama 2018); DiffAugment colour + translation +
cutout on every image the discriminator sees (Zhao et al. 2020); lazy R1 on real photos every
--r1-every steps; --d-steps discriminator steps per generator step; Adam(0, 0.999); an
exponential moving average of the generator's weights (half-life --ema-kimg thousand images,
ramped up early) is what gets evaluated and exported. bfloat16 autocast on CUDA.

Every --ckpt-minutes a checkpoint is written to RUNS/gan/ckpt (atomically: one file per part,
renamed into place) and, every --eval-minutes, the EMA generator is measured and a line is
appended to RUNS/gan/metrics.jsonl (see evaluate()); the best EMA generator by the judge's KID
(or the latest, without a judge) is kept in RUNS/gan/best. --resume continues from RUNS/gan/ckpt
(or a given folder, e.g. models/torch/gan) with the step count, image count and time spent.
"""
from __future__ import annotations

import copy
import io
import json
import os
import shutil
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import TERRAIN_CLASSES, base_parser, read_json, setup, write_json  # noqa: E402
from groundview.data import normalise, resize  # noqa: E402
from groundview.gan import (CondGenerator, ProjDiscriminator, diff_augment, ema_update, load_checkpoint,  # noqa: E402
                            recalibrate_bn, save_checkpoint)
from groundview.judging import judge_consistency, judge_distances, judge_outputs, judge_folder, load_judge, near_duplicate_share  # noqa: E402
from groundview.metrics import closest_pairs  # noqa: E402

def _decode(b: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(b)) as im:
        im = im.convert("RGB")
        if im.size != (128, 128):
            im = im.resize((128, 128), Image.BILINEAR)
        return np.asarray(im)

def load_packs(folder: Path, prefix: str) -> dict:
    """Decodes every RUNS/gan/data/<prefix>-NN.npz into uint8 NHWC photos, labels, conditions."""
    files = sorted(Path(folder).glob(f"{prefix}-*.npz"))
    if not files:
        raise SystemExit(f"no {prefix}-*.npz packs in {folder}: run trainer/prepare_gan_data.py first")
    blobs, labels, conds, paths = [], [], [], []
    for f in files:
        z = np.load(f, allow_pickle=False)
        raw, off = z["jpeg"].tobytes(), z["offsets"]
        blobs += [raw[off[i]:off[i + 1]] for i in range(len(off) - 1)]
        labels.append(z["labels"].astype(np.int64))
        conds.append(z["cond"])
        paths += [p.decode() for p in z["paths"].tolist()]
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as ex:
        images = np.stack(list(ex.map(_decode, blobs)))
    return {"images": images, "labels": np.concatenate(labels), "cond": np.concatenate(conds), "paths": paths,
            "packs": [f.name for f in files]}

def u8_to_m11(images: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float().div_(127.5).sub_(1)

class GanTrainer:
    def __init__(self, args, device, train: dict):
        self.args, self.device = args, device
        self.G = CondGenerator(widths=tuple(args.g_widths)).to(device)
        self.D = ProjDiscriminator(widths=tuple(args.d_widths)).to(device)
        self.G_ema = copy.deepcopy(self.G).eval()
        for p in self.G_ema.parameters():
            p.requires_grad_(False)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=args.lr_g, betas=(0.0, 0.999), eps=1e-8)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=args.lr_d, betas=(0.0, 0.999), eps=1e-8)
        self.step, self.images_seen, self.seconds = 0, 0, 0.0
        cuda = device.type == "cuda"
        self.amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else (lambda: torch.autocast("cpu", enabled=False))
        # The photos live on the device as uint8 (a 20k-photo set is ~1 GB): batches are indexed there.
        self.images = torch.from_numpy(train["images"]).to(device)
        self.cond = torch.from_numpy(train["cond"]).to(device)
        self.n = len(self.images)
        self.policy = tuple(p for p in args.augment.split(",") if p)

    def grow(self) -> None:
        """Resolution and fade-in for the images seen so far (ProGAN schedule)."""
        a = self.args
        start = a.grow_kimg * 1000
        if self.images_seen < start:
            res, alpha = 64, 1.0
        else:
            res, alpha = 128, min(1.0, (self.images_seen - start) / max(a.fade_kimg * 1000, 1))
        for g in (self.G, self.G_ema):
            g.res, g.alpha = res, alpha

    def real_batch(self, b: int):
        idx = torch.randint(0, self.n, (b,), device=self.device)
        x = self.images[idx].permute(0, 3, 1, 2).float().div_(127.5).sub_(1)
        flip = torch.rand(b, 1, 1, 1, device=self.device) < 0.5
        x = torch.where(flip, x.flip(3), x)
        if self.G.res == 64:
            x = F.avg_pool2d(x, 2)
        elif self.G.alpha < 1:             # real photos fade like the generator's output does
            low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2.0, mode="bilinear", align_corners=False)
            x = self.G.alpha * x + (1 - self.G.alpha) * low
        return x, self.cond[idx]

    def fake_inputs(self, b: int):
        c = self.cond[torch.randint(0, self.n, (b,), device=self.device)]
        return c, torch.randn(b, self.G.z_dim, device=self.device)

    def d_input(self, x):
        y = diff_augment(x, self.policy)
        return y.contiguous(memory_format=torch.channels_last) if self.device.type == "cuda" else y

    def train_step(self) -> dict:
        a, b = self.args, self.args.batch
        self.grow()
        alpha = self.G.alpha
        self.G.train(); self.D.train()
        out = {}
        for _ in range(a.d_steps):
            x, c_real = self.real_batch(b)
            c_fake, z = self.fake_inputs(b)
            with torch.no_grad(), self.amp():
                fake = self.G.from_scene(c_fake, z)
            with self.amp():
                d_real = self.D(self.d_input(x), c_real, alpha).float()
                d_fake = self.D(self.d_input(fake.float()), c_fake, alpha).float()
                loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            out.update(d_loss=float(loss_d), d_real=float(d_real.mean()), d_fake=float(d_fake.mean()))
        if a.r1_gamma > 0 and self.step % a.r1_every == 0:
            x, c_real = self.real_batch(b // 2)
            x.requires_grad_(True)
            score = self.D(self.d_input(x), c_real, alpha).sum()          # float32: the second derivative needs range
            (grad,) = torch.autograd.grad(score, x, create_graph=True)
            r1 = grad.pow(2).sum(dim=(1, 2, 3)).mean()
            self.opt_d.zero_grad(set_to_none=True)
            (r1 * (a.r1_gamma / 2) * a.r1_every).backward()
            self.opt_d.step()
            out["r1"] = float(r1)
        c_fake, z = self.fake_inputs(b)
        self.D.requires_grad_(False)          # the generator step needs no gradients of D's weights
        with self.amp():
            fake = self.G.from_scene(c_fake, z)
            loss_g = -self.D(self.d_input(fake.float()), c_fake, alpha).float().mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        self.step += 1
        self.images_seen += b
        half_life = a.ema_kimg * 1000
        if a.ema_rampup:
            half_life = min(half_life, self.images_seen * a.ema_rampup)
        ema_update(self.G_ema, self.G, 0.5 ** (b / max(half_life, 1e-8)))
        out["g_loss"] = float(loss_g)
        return out

    def meta(self) -> dict:
        a = self.args
        return {"step": self.step, "imagesSeen": self.images_seen, "seconds": round(self.seconds, 1),
                "resolution": self.G.res, "alpha": round(self.G.alpha, 4), "growKimg": a.grow_kimg, "fadeKimg": a.fade_kimg,
                "gWidths": list(a.g_widths), "dWidths": list(a.d_widths), "batch": a.batch, "dSteps": a.d_steps,
                "lrG": a.lr_g, "lrD": a.lr_d, "augment": a.augment, "r1Gamma": a.r1_gamma, "r1Every": a.r1_every, "emaKimg": a.ema_kimg,
                "latentDim": self.G.latent_dim, "noiseDim": self.G.noise_dim, "recipe": "hinge+SN-projection-D+DiffAugment+R1+EMA"}

    def save(self, folder: Path):
        save_checkpoint(folder, self.G, self.G_ema, self.D, self.opt_g, self.opt_d, self.meta())

    def load(self, folder: Path, reset_optimizers: bool = False):
        opts = (None, None) if reset_optimizers else (self.opt_g, self.opt_d)
        meta = load_checkpoint(folder, self.G, self.G_ema, self.D, *opts, self.device)
        for opt, lr in ((self.opt_g, self.args.lr_g), (self.opt_d, self.args.lr_d)):
            for group in opt.param_groups:          # this invocation's learning rates, not the saved ones
                group["lr"] = lr
        self.step, self.images_seen, self.seconds = meta["step"], meta["imagesSeen"], meta["seconds"]
        self.grow()
        return meta

def eval_generator(G_ema: CondGenerator, cond: np.ndarray, device, seed: int = 0, batches: int = 20) -> CondGenerator:
    """A copy of the EMA generator with BatchNorm statistics measured for its own weights."""
    g = copy.deepcopy(G_ema).to(device)
    pool = torch.from_numpy(cond)
    recalibrate_bn(g, lambda n, gen: pool[torch.randint(0, len(pool), (n,), generator=gen)], batches=batches,
                   batch=64, device=device, seed=seed)
    return g

@torch.no_grad()
def terrain_samples(g: CondGenerator, per_terrain: int, device, seed: int) -> torch.Tensor:
    """per_terrain pictures for each aerial terrain (one-hot probabilities, latent and noise
    standard normal): (7 * per_terrain, 3, 128, 128) in [-1, 1], terrain-major."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for t in range(len(TERRAIN_CLASSES)):
        p = F.one_hot(torch.full((per_terrain,), t), len(TERRAIN_CLASSES)).float().to(device)
        lat = torch.randn(per_terrain, g.latent_dim, generator=gen).to(device)
        noi = torch.randn(per_terrain, g.noise_dim, generator=gen).to(device)
        out.append(g(p, lat, noi).float().clamp(-1, 1))
    return torch.cat(out)

@torch.no_grad()
def evaluate(g: CondGenerator, val: dict, judge, device, seed: int = 0, per_terrain: int = 40, n_fd: int = 1000) -> dict:
    """Quality measures of a generator that never trained against any of them:
    - nearDuplicateShare: within each terrain, pairs of pictures (different noise and latent)
      with SSIM > 0.9 on 64 px greyscale; the target is <= 5 % (real photos: 0 %);
    - closestPairRMS: the birthday-paradox check, closest pairs among 100 samples vs among
      100 held-back photos (RMS in [0, 1] pixels);
    - with the judge: Fréchet distance and KID in its embedding space between n_fd samples
      (conditions of held-back photos) and those photos; terrain consistency: the share of
      terrain samples the judge puts in a ground class the terrain's compatibility row allows.
    """
    t0 = time.time()
    g.eval()
    samples = terrain_samples(g, per_terrain, device, seed)
    terr = np.repeat(np.arange(len(TERRAIN_CLASSES)), per_terrain)
    share, per_t = near_duplicate_share((samples.cpu().double() + 1) / 2, terr)
    gen = torch.Generator().manual_seed(seed + 1)
    pick = torch.randperm(len(samples), generator=gen)[:100]
    real100 = u8_to_m11(val["images"][torch.randperm(len(val["images"]), generator=gen)[:100].numpy()], "cpu")
    res = {"nearDuplicateShare": share, "nearDuplicateShareByTerrain": {TERRAIN_CLASSES[t]: v for t, v in per_t.items()},
           "closestPairRMS": {"samples100": [round(p[2], 4) for p in closest_pairs((samples[pick].cpu() + 1) / 2, 3)],
                              "realPhotos100": [round(p[2], 4) for p in closest_pairs((real100 + 1) / 2, 3)]}}
    if judge is not None:
        res.update(judge_consistency(judge_outputs(judge, samples)[0], terr, TERRAIN_CLASSES))
        n = min(n_fd, len(val["images"]))
        idx = torch.randperm(len(val["images"]), generator=gen)[:n].numpy()
        fakes = []
        for i in range(0, n, 250):
            c = torch.from_numpy(val["cond"][idx[i:i + 250]]).to(device)
            z = torch.randn(len(c), g.z_dim, generator=gen).to(device)
            fakes.append(g.from_scene(c, z).float().clamp(-1, 1))
        real = u8_to_m11(val["images"][idx], device)
        res.update(judge_distances(judge_outputs(judge, torch.cat(fakes))[1], judge_outputs(judge, real)[1]))
    res["evalSeconds"] = round(time.time() - t0, 1)
    return res

def sample_grid(g: CondGenerator, path: Path, device, seed: int = 0, per_row: int = 8) -> None:
    """One row of pictures per terrain."""
    s = terrain_samples(g, per_row, device, seed)
    grid = ((s.cpu() + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    rows = [np.concatenate(list(grid[t * per_row:(t + 1) * per_row]), 1) for t in range(len(TERRAIN_CLASSES))]
    Image.fromarray(np.concatenate(rows, 0)).save(path)

def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--minutes", type=float, default=60.0, help="training time for this invocation")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps in total (0: none)")
    p.add_argument("--resume", nargs="?", const="", default=None,
                   help="continue from RUNS/gan/ckpt, or from the checkpoint folder given")
    p.add_argument("--packs", default=None, help="folder of train-*.npz / val-*.npz (default RUNS/gan/data)")
    p.add_argument("--judge", default=None, help="folder of the judge (default RUNS/judge, else models/torch/judge)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--d-steps", type=int, default=2)
    p.add_argument("--lr-g", type=float, default=1e-4)
    p.add_argument("--lr-d", type=float, default=4e-4)
    p.add_argument("--r1-gamma", type=float, default=0.1)
    p.add_argument("--r1-every", type=int, default=16)
    p.add_argument("--ema-kimg", type=float, default=10.0)
    p.add_argument("--ema-rampup", type=float, default=0.05)
    p.add_argument("--g-widths", type=int, nargs="+", default=[256, 192, 64, 32, 16, 8])
    p.add_argument("--d-widths", type=int, nargs="+", default=[12, 32, 64, 128, 256])
    p.add_argument("--augment", default="color,translation",
                   help="DiffAugment policy for everything D sees: color, translation, cutout (comma-separated)")
    p.add_argument("--grow-kimg", type=float, default=30.0, help="thousand images at 64 px before 128 px fades in")
    p.add_argument("--fade-kimg", type=float, default=20.0, help="thousand images over which 128 px fades in")
    p.add_argument("--ckpt-minutes", type=float, default=3.0)
    p.add_argument("--eval-minutes", type=float, default=6.0)
    p.add_argument("--reset-optimizers", action="store_true",
                   help="on --resume, start Adam's moments afresh (weights are kept): a second-moment estimate "
                        "remembered from a phase of large gradients can freeze a discriminator whose gradients "
                        "have become small (seen: hinge loss stuck at 2.0, R1 ~1e-5)")
    p.add_argument("--out", default=None, help="also copy the final checkpoint, metrics and samples here")
    args = p.parse_args(argv)
    device = setup(args)
    runs = Path(args.runs)
    gan_dir = runs / "gan"
    packs = Path(args.packs) if args.packs else gan_dir / "data"
    if args.dry_run:                     # packs from prepare_gan_data.py --dry-run, tiny networks
        args.batch, args.d_steps, args.r1_every = 4, 1, 2
        args.g_widths, args.d_widths = [32, 32, 16, 16, 8, 8], [8, 16, 16, 32, 32]
        args.max_steps = args.max_steps or 3
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    t_load = time.time()
    train, val = load_packs(packs, "train"), load_packs(packs, "val")
    judge = load_judge(judge_folder(args.judge, runs), device)
    print(f"[gan] train={len(train['images'])} ({','.join(train['packs'])}) val={len(val['images'])} "
          f"judge={'yes' if judge else 'no'} device={device} loaded in {time.time() - t_load:.0f}s", flush=True)
    tr = GanTrainer(args, device, train)
    ckpt_dir = gan_dir / "ckpt"
    if args.resume is not None:
        src = Path(args.resume) if args.resume else ckpt_dir
        if (src / "meta.json").exists():
            m = tr.load(src, reset_optimizers=args.reset_optimizers)
            print(f"[gan] resumed from {src} at step {m['step']} ({m['imagesSeen']} images, {m['seconds'] / 60:.0f} min)"
                  f"{', Adam moments reset' if args.reset_optimizers else ''}", flush=True)
        else:
            print(f"[gan] nothing to resume in {src}: starting anew", flush=True)
    print(f"[gan] G {sum(q.numel() for q in tr.G.parameters()) / 1e6:.2f}M params, "
          f"D {sum(q.numel() for q in tr.D.parameters()) / 1e6:.2f}M", flush=True)
    gan_dir.mkdir(parents=True, exist_ok=True)
    metrics_file = gan_dir / "metrics.jsonl"
    best_file = gan_dir / "best" / "meta.json"
    # The best EMA generator: lowest judge KID; without a judge, the latest. A best chosen
    # without a judge never outranks one measured with it.
    best_meta = read_json(best_file) if best_file.exists() else {}
    best_kid = best_meta["judgeKID"] if best_meta.get("selectedBy") == ("judgeKID" if judge else "step") else float("inf")
    t0 = last_ckpt = last_eval = last_print = time.time()
    recent = []

    def checkpoint_and_eval(do_eval: bool):
        nonlocal best_kid
        tr.save(ckpt_dir)
        if not do_eval:
            return
        g = eval_generator(tr.G_ema, train["cond"], device, seed=args.seed, batches=20 if device.type == "cuda" else 4)
        res = {**tr.meta(), **evaluate(g, val, judge, device, seed=args.seed, per_terrain=40 if device.type == "cuda" else 16,
                                        n_fd=1000 if device.type == "cuda" else 250),
               "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        with open(metrics_file, "a") as f:
            f.write(json.dumps(res) + "\n")
        sample_grid(g, gan_dir / "samples.png", device, seed=args.seed)
        score = res.get("judgeKID", -res["step"])
        keep = score <= best_kid
        if keep:
            best_kid = score
            (gan_dir / "best").mkdir(exist_ok=True)
            torch.save({k: v.cpu() for k, v in g.state_dict().items()}, gan_dir / "best" / "G_eval.pt")
            write_json(best_file, {**res, "judgeKID": score, "selectedBy": "judgeKID" if judge else "step"})
        short = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()
                 if k in ("step", "imagesSeen", "nearDuplicateShare", "judgeConsistency", "judgeFD", "judgeKID", "evalSeconds")}
        print(f"[gan] eval {short}{' (best)' if keep else ''}", flush=True)

    budget = args.minutes * 60
    while time.time() - t0 < budget and not (args.max_steps and tr.step >= args.max_steps):
        ts = time.time()
        recent.append(tr.train_step())
        tr.seconds += time.time() - ts
        now = time.time()
        if now - last_print > 30 or tr.step == 1:
            last_print = now
            avg = {k: float(np.mean([r[k] for r in recent[-100:] if k in r])) for k in recent[-1]}
            print(f"[gan] step {tr.step} " + " ".join(f"{k}={v:.3f}" for k, v in avg.items())
                  + f" imgs={tr.images_seen} elapsed={now - t0:.0f}s left~{max(0, budget - (now - t0)):.0f}s", flush=True)
            recent = recent[-100:]
        if now - last_ckpt > args.ckpt_minutes * 60:
            do_eval = now - last_eval > args.eval_minutes * 60
            checkpoint_and_eval(do_eval)
            last_ckpt = time.time()
            if do_eval:
                last_eval = last_ckpt
    checkpoint_and_eval(True)
    if args.out:                         # at most 7 files: what a device run can bring back
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for f in ckpt_dir.iterdir():
            shutil.copyfile(f, out / f.name)
        with tarfile.open(out / "report.tar", "w") as t:
            for f in (metrics_file, gan_dir / "samples.png", best_file):
                if f.exists():
                    t.add(f, arcname=str(f.relative_to(gan_dir)))
    print(f"[gan] stopped at step {tr.step} ({tr.images_seen} images, {tr.seconds / 60:.1f} min of training in all)", flush=True)
    return 0

if __name__ == "__main__":
    sys.exit(main())
