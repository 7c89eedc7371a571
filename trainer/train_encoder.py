#!/usr/bin/env python3
"""Trains the encoder: satellite tile -> latent so that generator(latent) shows the ground terrain.

There is no paired data, so supervision is at terrain level (as in the study project): the
frozen scene classifier's probabilities on generator(encoder(tile)) are pulled, by KL
divergence, towards the row of the compatibility matrix for the tile's terrain; a prior term
keeps each batch of latents near N(0, I), where the generator was trained. The trunk starts
from the trained terrain classifier's weights.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import TERRAIN_CLASSES, Progress, base_parser, setup, write_json  # noqa: E402
from groundview.compat import compatibility_matrix  # noqa: E402
from groundview.data import augment, data_root, load_trained_terrain_tiles, normalise, split_masks, to_tensor  # noqa: E402
from groundview.models import Encoder, Generator  # noqa: E402
from groundview.pipeline import encode_generate_classify, load_generator, load_scene, scene_input, terrain_consistency  # noqa: E402
from groundview.runs import step_dir, step_result, weights  # noqa: E402


def within_terrain_spread(z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean per-dimension variance of the latents of the tiles of each terrain in the batch
    (terrains with at least two tiles), averaged over those terrains."""
    vs = [z[labels == c].var(0).mean() for c in labels.unique() if int((labels == c).sum()) >= 2]
    return torch.stack(vs).mean() if vs else z.new_zeros(())


def prior_loss(z: torch.Tensor) -> torch.Tensor:
    """Batch moments near N(0, I) plus a penalty on latents far outside the typical shell."""
    mean, var = z.mean(0), z.var(0)
    radius = (z ** 2).mean(1)
    return (mean ** 2).mean() + ((var - 1) ** 2).mean() + F.relu(radius - 2.0).mean()


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--w-prior", type=float, default=0.5)
    p.add_argument("--w-spread", type=float, default=1.0,
                   help="weight of the penalty on latents of one terrain that vary less than --min-spread")
    p.add_argument("--min-spread", type=float, default=0.4,
                   help="per-dimension latent variance wanted among the tiles of one terrain (N(0, I) has 1 in all)")
    p.add_argument("--init", default="", help="start from this encoder state dict (e.g. models/torch/encoder.pt) "
                                             "instead of the terrain classifier's trunk")
    args = p.parse_args(argv)
    device = setup(args)
    runs, data = Path(args.runs), data_root(args)
    if args.dry_run:
        args.epochs = 1
    tres = step_result(runs, "terrain")
    # The encoder trains on tiles at the size the terrain classifier was trained at and, like
    # it, is served (and validated) at the classifier's serving size (train_terrain.py
    # --serve-sizes), with the same normalisation: the service prepares one tensor for both.
    tmeta = {"inputSize": tres.get("trainSize", tres["inputSize"]), "mean": tres["mean"], "std": tres["std"]}
    serve = {**tmeta, "inputSize": tres["inputSize"]}
    scene = load_scene(runs, device)
    if scene is None:
        raise SystemExit("train the scene classifier first (runs/scene)")
    g = load_generator(runs, device)
    d = g.latent_dim
    ds = load_trained_terrain_tiles(data, runs)
    tr_mask, va_mask = split_masks(ds)
    train, val = ds.subset(tr_mask), ds.subset(va_mask if va_mask.any() else tr_mask)
    enc = Encoder(d).to(device)
    if args.init:
        enc.load_state_dict(torch.load(args.init, map_location=device))
    else:
        trunk = {k: v for k, v in weights(runs, "terrain", device).items() if not k.startswith("head.")}
        enc.backbone.load_state_dict(trunk, strict=False)
    m = compatibility_matrix()
    target = torch.tensor(m, dtype=torch.float32, device=device)
    opt = torch.optim.AdamW(enc.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = max(1, math.ceil(len(train) / args.batch))
    if args.dry_run:
        steps = 2
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(args.seed)
    prog = Progress("encoder", args.epochs)
    sm, smeta = scene
    best, best_state, history = -1.0, None, []
    for epoch in range(args.epochs):
        enc.train()
        perm = torch.randperm(len(train), generator=gen).numpy()
        tot = {"kl": 0.0, "prior": 0.0, "spread": 0.0}
        for s in range(steps):
            idx = np.sort(perm[s * args.batch:(s + 1) * args.batch])
            if len(idx) < 2:
                continue
            x = augment(to_tensor(train.images[idx], device), tmeta["inputSize"], gen, scale=(0.3, 1.0), colour=0.25)
            z = enc(normalise(x, tmeta["mean"], tmeta["std"]))
            logq = F.log_softmax(sm(scene_input(g(z), smeta)), 1)
            lab = torch.from_numpy(train.labels[idx]).to(device)
            t = target[lab]
            kl = (t * (torch.log(t.clamp_min(1e-8)) - logq)).sum(1).mean()
            pl = prior_loss(z)
            spread = within_terrain_spread(z, lab)
            loss = kl + args.w_prior * pl + args.w_spread * F.relu(args.min_spread - spread)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot["kl"] += float(kl); tot["prior"] += float(pl); tot["spread"] += float(spread)
        _, _, probs = encode_generate_classify(enc, g, scene, val.images, serve, device)
        tc = terrain_consistency(probs, val.labels, m)
        history.append({"epoch": epoch + 1, "kl": tot["kl"] / steps, "prior": tot["prior"] / steps,
                        "withinTerrainSpread": tot["spread"] / steps, "valTerrainConsistency": tc})
        prog.epoch(epoch, kl=tot["kl"] / steps, prior=tot["prior"] / steps, spread=tot["spread"] / steps, val_consistency=tc)
        if tc >= best:
            best, best_state = tc, {k: v.detach().clone() for k, v in enc.state_dict().items()}
    enc.load_state_dict(best_state)
    z, _, probs = encode_generate_classify(enc, g, scene, val.images, serve, device)
    per_class = {c: float((m[val.labels[val.labels == i], probs[val.labels == i].argmax(1).numpy()] > 0).mean())
                 for i, c in enumerate(TERRAIN_CLASSES) if (val.labels == i).any()}
    out = step_dir(runs, "encoder")
    out.mkdir(parents=True, exist_ok=True)
    torch.save(enc.state_dict(), out / "model.pt")
    write_json(out / "result.json", {
        "latentDim": d, "dryRun": args.dry_run, "input": serve, "trainSize": tmeta["inputSize"], "init": args.init or None,
        "epochs": args.epochs,
        "metrics": {"terrainConsistency": terrain_consistency(probs, val.labels, m),
                    "terrainConsistencyByTerrain": per_class,
                    "latentMean": float(z.mean()), "latentStd": float(z.std()),
                    "withinTerrainSpread": float(within_terrain_spread(z, torch.from_numpy(val.labels))),
                    "recipe": {"wPrior": args.w_prior, "wSpread": args.w_spread, "minSpread": args.min_spread},
                    "training": history},
    })
    print(f"[encoder] val terrain consistency={terrain_consistency(probs, val.labels, m):.4f} by terrain={per_class}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
