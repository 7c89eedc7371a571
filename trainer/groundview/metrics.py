"""Evaluation metrics written in numpy/torch (no scipy or sklearn on the target machines)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict:
    """Top-1 accuracy, macro-F1 over classes present in y_true, per-class F1, confusion matrix."""
    n = len(classes)
    cm = confusion(y_true, y_pred, n)
    tp = np.diag(cm).astype(np.float64)
    prec = tp / np.maximum(cm.sum(0), 1)
    rec = tp / np.maximum(cm.sum(1), 1)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)
    present = cm.sum(1) > 0
    return {
        "n": int(len(y_true)),
        "top1": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        "macroF1": float(f1[present].mean()) if present.any() else 0.0,
        "perClassF1": {c: round(float(f), 4) for c, f, p in zip(classes, f1, present) if p},
        "confusion": {"classes": classes, "rows_true_cols_pred": cm.tolist()},
    }


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney form of the ROC-AUC, with ties counted as one half."""
    pos, neg = scores[positive], scores[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):                       # average ranks over ties
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    return float((r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two embedding sets (rows are samples)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    s1 = _sqrtm_psd(c1)
    cross = _sqrtm_psd(s1 @ c2 @ s1)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * np.trace(cross))


def _gauss_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    g = torch.exp(-((torch.arange(size) - size // 2) ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def mean_pairwise_ssim(images: torch.Tensor) -> float:
    """Mean SSIM over all pairs of a batch (N,3,H,W in [0,1]), on luminance."""
    y = (0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]).unsqueeze(1)
    return float(_ssim_of_pairs(y).mean())


def closest_pairs(images: torch.Tensor, k: int = 5) -> list[tuple[int, int, float]]:
    """The k closest pairs by RMS pixel distance: the birthday-paradox check for mode collapse."""
    flat = images.flatten(1).double()
    d = torch.cdist(flat, flat) / (flat.shape[1] ** 0.5)
    n = d.shape[0]
    iu = torch.triu_indices(n, n, 1)
    vals = d[iu[0], iu[1]]
    best = torch.argsort(vals)[:k]
    return [(int(iu[0][b]), int(iu[1][b]), float(vals[b])) for b in best]


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, subsets: int = 20, subset_size: int = 500,
                              seed: int = 0) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel
    k(x, y) = (x.y / d + 1)^3, averaged over random subsets; (mean, std over subsets).
    Unlike the Fréchet distance it has no bias that depends on the number of samples."""
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    vals = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        mmd = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
               - 2 * kxy.mean())
        vals.append(mmd)
    return float(np.mean(vals)), float(np.std(vals))


def luminance64(images: torch.Tensor) -> torch.Tensor:
    """N,3,H,W in [0, 1] -> N,1,64,64 greyscale (the near-duplicate test's resolution)."""
    y = (0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]).unsqueeze(1)
    return F.interpolate(y, size=(64, 64), mode="bilinear", align_corners=False, antialias=True)


def pairwise_ssim(images: torch.Tensor) -> torch.Tensor:
    """SSIM of every pair i < j of a batch (N,3,H,W in [0, 1]) on 64x64 greyscale: a vector of
    N(N-1)/2 values in the order of torch.triu_indices(N, N, 1)."""
    return _ssim_of_pairs(luminance64(images))


def _ssim_of_pairs(y: torch.Tensor) -> torch.Tensor:
    """SSIM (11x11 Gaussian window) of every pair i < j of greyscale images N,1,H,W."""
    y = y.double()
    w = _gauss_window().double().to(y.device)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu = F.conv2d(y, w)
    sq = F.conv2d(y * y, w)
    vals = []
    for i in range(y.shape[0] - 1):
        a, b = y[i:i + 1], y[i + 1:]
        mu_a, mu_b = mu[i:i + 1], mu[i + 1:]
        var_a, var_b = sq[i:i + 1] - mu_a ** 2, sq[i + 1:] - mu_b ** 2
        cov = F.conv2d(a * b, w) - mu_a * mu_b
        s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
        vals.append(s.mean(dim=(1, 2, 3)))
    return torch.cat(vals) if vals else torch.zeros(0, dtype=torch.float64)
