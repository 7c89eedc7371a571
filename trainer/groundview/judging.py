"""Measures of generated landscapes that no generator trained against.

- judge: Fréchet distance and KID in the judge's (JudgeNet's) embedding space against
  held-back photos, and terrain consistency (the judge puts the landscape of a tile in a
  ground class the tile terrain's compatibility row allows);
- near-duplicates: pairs of pictures of different tiles of one terrain with SSIM > 0.9 on
  64 px greyscale;
- classifier two-sample test (Lopez-Paz & Oquab 2017): a small CNN trained to tell held-back
  real photos from generated ones; its accuracy on pictures it did not train on (0.5: it
  cannot tell them apart);
- birthday paradox (Arora & Zhang 2017): in batches of s pictures, the share of batches with a
  near-duplicate pair; a share near 0.5 means a support of about s^2 distinct pictures;
- memorisation: for generated pictures, the nearest training photo (pixels, 32 px) and its
  SSIM; a copy would score near 1, and real held-back photos give the scale.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pathlib import Path

from .common import SCENE_CLASSES, read_json
from .compat import compatibility_matrix
from .data import normalise, resize
from .metrics import frechet_distance, kernel_inception_distance, pairwise_ssim
from .models import JudgeNet

NEAR_DUPLICATE_SSIM = 0.9


#: The committed judge (trainer/train_judge.py's output kept with the models), so that every
#: machine measures with the same judge and none has to train it first.
COMMITTED_JUDGE = Path(__file__).resolve().parents[2] / "models" / "torch" / "judge"


def judge_folder(given: str | None, runs: Path) -> Path:
    """--judge when given, else RUNS/judge when a judge was trained there, else the committed one."""
    if given:
        return Path(given)
    return runs / "judge" if (runs / "judge" / "result.json").exists() else COMMITTED_JUDGE


def load_judge(folder: Path, device):
    res = Path(folder) / "result.json"
    if not res.exists():
        return None
    meta = read_json(res)
    m = JudgeNet(len(SCENE_CLASSES))
    m.load_state_dict(torch.load(Path(folder) / "model.pt", map_location=device))
    m.to(device).eval()
    return m, meta


@torch.no_grad()
def judge_outputs(judge, images_m11: torch.Tensor, batch: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, embeddings) of the judge for images in [-1, 1]."""
    m, meta = judge
    ps, es = [], []
    for i in range(0, len(images_m11), batch):
        x = normalise(resize((images_m11[i:i + batch].float() + 1) / 2, meta["inputSize"]), meta["mean"], meta["std"])
        e = m.embed(x)
        ps.append(torch.softmax(m.head(e), 1).cpu().numpy())
        es.append(e.cpu().numpy().astype(np.float64))
    return np.concatenate(ps), np.concatenate(es)


def near_duplicate_share(images01: torch.Tensor, groups: np.ndarray) -> tuple[float, dict]:
    """Share of within-group pairs with SSIM > 0.9 (64 px greyscale), over all groups' pairs."""
    dup = tot = 0
    per = {}
    for gval in sorted(set(groups.tolist())):
        idx = np.nonzero(groups == gval)[0]
        if len(idx) < 2:
            continue
        s = pairwise_ssim(images01[idx])
        k = int((s > NEAR_DUPLICATE_SSIM).sum())
        per[gval] = k / len(s)
        dup += k
        tot += len(s)
    return (dup / tot if tot else 0.0), per


class _TwoSampleNet(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for w in (16, 32, 64, 64):
            layers += [nn.Conv2d(cin, w, 3, 2, 1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            cin = w
        self.net = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)

    def forward(self, x):
        return self.head(F.adaptive_avg_pool2d(self.net(x), 1).flatten(1)).squeeze(1)


def two_sample_accuracy(real01: torch.Tensor, fake01: torch.Tensor, seed: int = 0, epochs: int = 15,
                        test_share: float = 0.3) -> float:
    """Held-out accuracy of a small CNN trained to tell `real01` from `fake01` (N,3,128,128 in
    [0, 1]); equal counts of each are used."""
    g = torch.Generator().manual_seed(seed)
    n = min(len(real01), len(fake01))
    real = real01[torch.randperm(len(real01), generator=g)[:n]]
    fake = fake01[torch.randperm(len(fake01), generator=g)[:n]]
    n_test = int(n * test_share)
    xtr = torch.cat([real[n_test:], fake[n_test:]])
    ytr = torch.cat([torch.ones(n - n_test), torch.zeros(n - n_test)])
    xte = torch.cat([real[:n_test], fake[:n_test]])
    yte = torch.cat([torch.ones(n_test), torch.zeros(n_test)])
    torch.manual_seed(seed)
    net = _TwoSampleNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(perm), 64):
            b = perm[i:i + 64]
            x = xtr[b]
            x = torch.where(torch.rand(len(b), 1, 1, 1, generator=g) < 0.5, x.flip(3), x)
            loss = F.binary_cross_entropy_with_logits(net(x * 2 - 1), ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(xte[i:i + 256] * 2 - 1) for i in range(0, len(xte), 256)]) > 0
    return float((pred.float() == yte).float().mean())


def birthday_test(images01: torch.Tensor, batch: int, trials: int, seed: int = 0) -> dict:
    """Share of random batches of `batch` pictures that hold a near-duplicate pair."""
    g = torch.Generator().manual_seed(seed)
    hits = 0
    for _ in range(trials):
        idx = torch.randperm(len(images01), generator=g)[:batch]
        hits += int((pairwise_ssim(images01[idx]) > NEAR_DUPLICATE_SSIM).any())
    return {"batchSize": batch, "trials": trials, "batchesWithDuplicate": hits / trials}


def nearest_training_ssim(images01: torch.Tensor, train_u8: np.ndarray) -> np.ndarray:
    """For each picture, the SSIM (64 px greyscale) to its nearest training photo by pixel
    distance at 32 px."""
    small = lambda x: F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False, antialias=True).flatten(1)  # noqa: E731
    q = small(images01)
    best_d = torch.full((len(q),), float("inf"))
    best_i = torch.zeros(len(q), dtype=torch.long)
    for i in range(0, len(train_u8), 2000):
        t = torch.from_numpy(train_u8[i:i + 2000]).permute(0, 3, 1, 2).float() / 255
        d = torch.cdist(q, small(t))
        v, j = d.min(1)
        better = v < best_d
        best_d[better], best_i[better] = v[better], j[better] + i
    nearest = torch.from_numpy(train_u8[best_i.numpy()]).permute(0, 3, 1, 2).float() / 255
    out = []
    for a, b in zip(images01, nearest):
        out.append(float(pairwise_ssim(torch.stack([a, b]))[0]))
    return np.array(out)


def judge_distances(fake_emb: np.ndarray, real_emb: np.ndarray) -> dict:
    """Fréchet distance and KID between the judge's embeddings of generated and real images."""
    kid, kid_sd = kernel_inception_distance(fake_emb, real_emb, subset_size=min(500, len(fake_emb), len(real_emb)))
    return {"judgeFD": frechet_distance(fake_emb, real_emb), "judgeKID": kid, "judgeKIDStd": kid_sd}


def judge_consistency(probs: np.ndarray, terrain_labels: np.ndarray, names: list[str]) -> dict:
    """Share of pictures the judge puts in a ground class their terrain's compatibility row
    allows, overall and per terrain (`names` indexed by terrain label)."""
    ok = compatibility_matrix()[terrain_labels, probs.argmax(1)] > 0
    return {"judgeConsistency": float(ok.mean()),
            "judgeConsistencyByTerrain": {names[t]: float(ok[terrain_labels == t].mean()) for t in sorted(set(terrain_labels.tolist()))}}
