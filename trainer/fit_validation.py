#!/usr/bin/env python3
"""Fits validatePhoto's calibrated score on validation (tile, photo) pairs and measures its ROC-AUC.

For a tile with terrain probabilities p(t) and a photo with scene probabilities q(g), the
expected ground distribution is e = p' @ M (M: compatibility matrix). The evidence is the log
likelihood ratio  x = log(e . q') - log(pi . q')  against the base rate pi of ground terrains,
which discounts photos that are ambiguous anyway. p' and q' are p and q at a temperature
(p' = softmax(log p / T)): both classifiers were trained with label smoothing and are
under-confident, and T < 1 sharpens them; the two temperatures are chosen on the fit half (the
pair with the highest ROC-AUC there, 1 among the candidates). A logistic curve sigma(a x + b)
fitted on half of the validation tiles turns x into a probability that the pair matches;
ROC-AUC, Brier score and the verdict thresholds are measured on the other half.

Pairs: for each validation tile, matched photos are drawn from ground classes in proportion to
the tile terrain's row of M; mismatched photos from classes that row gives zero.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.classifier import ClassifierConfig, predict  # noqa: E402
from groundview.common import SCENE_CLASSES, TERRAIN_CLASSES, base_parser, setup, write_json  # noqa: E402
from groundview.compat import compatibility_matrix  # noqa: E402
from groundview.data import data_root, load_ground, load_trained_terrain_tiles, validation_subset  # noqa: E402
from groundview.metrics import roc_auc  # noqa: E402
from groundview.validation import TEMPERATURES, calibrated_score, evidence  # noqa: E402
from groundview.runs import cache_dir, load_small_resnet, step_dir, step_result  # noqa: E402

def fit_logistic(x: np.ndarray, y: np.ndarray, iters: int = 100, ridge: float = 1e-2) -> tuple[float, float]:
    """Newton's method on the 2-parameter logistic likelihood (Platt scaling), lightly ridged
    so that perfectly separable (tiny) data still gives a finite curve. x is standardised for
    the fit and each step is halved until the penalised likelihood improves, so evidence with
    a wide range (sharp temperatures) cannot make it overshoot."""
    mu, sd = float(x.mean()), float(x.std()) or 1.0
    u = (x - mu) / sd

    def nll(w):
        z = np.clip(w[0] * u + w[1], -50, 50)
        return float((np.logaddexp(0, z) - y * z).sum() + 0.5 * ridge * w[0] ** 2)

    w = np.array([1.0, 0.0])
    for _ in range(iters):
        s = 1 / (1 + np.exp(-np.clip(w[0] * u + w[1], -50, 50)))
        g = np.array([((s - y) * u).sum() + ridge * w[0], (s - y).sum()])
        h_w = s * (1 - s) + 1e-9
        h = np.array([[(h_w * u * u).sum() + ridge, (h_w * u).sum()], [(h_w * u).sum(), h_w.sum() + 1e-9]])
        step, f0 = np.linalg.solve(h, g), nll(w)
        t = 1.0
        while t > 1e-6 and nll(w - t * step) > f0:
            t /= 2
        w = w - t * step
        if np.abs(t * step).max() < 1e-10:
            break
    return float(w[0] / sd), float(w[1] - w[0] * mu / sd)


def load_classifier(runs: Path, name: str, n: int, device):
    meta = step_result(runs, name)
    cfg = ClassifierConfig(name, meta["classes"], meta["inputSize"], tuple(meta["mean"]), tuple(meta["std"]))
    return load_small_resnet(runs, name, n, device), cfg


def make_pairs(tile_labels, photo_labels, m, per_tile: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    by_class = {g: np.nonzero(photo_labels == g)[0] for g in range(m.shape[1])}
    ti, pi, y = [], [], []
    for i, t in enumerate(tile_labels):
        row = m[t] * np.array([len(by_class[g]) > 0 for g in range(m.shape[1])])
        bad = [g for g in range(m.shape[1]) if m[t, g] == 0 and len(by_class[g])]
        for _ in range(per_tile):
            g = rng.choice(m.shape[1], p=row / row.sum())
            ti.append(i); pi.append(rng.choice(by_class[g])); y.append(1)
            g = rng.choice(bad)
            ti.append(i); pi.append(rng.choice(by_class[g])); y.append(0)
    return np.array(ti), np.array(pi), np.array(y)


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--pairs-per-tile", type=int, default=10)
    p.add_argument("--max-error", type=float, default=0.10,
                   help="verdict bands: PLAUSIBLE/SUSPICIOUS only where at most this share of the fit pairs disagree")
    args = p.parse_args(argv)
    device = setup(args)
    runs, data = Path(args.runs), data_root(args)
    tmodel, tcfg = load_classifier(runs, "terrain", len(TERRAIN_CLASSES), device)
    smodel, scfg = load_classifier(runs, "scene", len(SCENE_CLASSES), device)
    tiles = validation_subset(load_trained_terrain_tiles(data, runs))
    photos = load_ground(data, step_result(runs, "scene")["recipe"]["cacheSize"] if not args.dry_run else 40,
                         cache_dir(runs))
    photos = validation_subset(photos)
    pt, _ = predict(tmodel, tiles.images, tcfg, device)
    qp, _ = predict(smodel, photos.images, scfg, device)
    m = compatibility_matrix()
    prior = m.mean(0)
    rng = np.random.default_rng(args.seed)
    ti, pi, y = make_pairs(tiles.labels, photos.labels, m, args.pairs_per_tile, rng)
    fit = (np.arange(len(tiles)) % 2 == 0)[ti]            # half the tiles fit, the other half measure
    grid = {(tt, tq): roc_auc(evidence(pt[ti[fit]], qp[pi[fit]], m, prior, tt, tq), y[fit] == 1)
            for tt in TEMPERATURES for tq in TEMPERATURES}
    t_tile, t_photo = max(grid, key=lambda k: (round(grid[k], 6), k))
    print(f"[validation] temperatures on the fit half: terrain {t_tile} scene {t_photo} "
          f"(ROC-AUC {grid[(t_tile, t_photo)]:.4f} there; at 1, 1: {grid[(1.0, 1.0)]:.4f})", flush=True)
    x = evidence(pt[ti], qp[pi], m, prior, t_tile, t_photo)
    a, b = fit_logistic(x[fit], y[fit].astype(np.float64))
    score = calibrated_score(x, a, b)
    auc = roc_auc(score[~fit], y[~fit] == 1)
    brier = float(((score[~fit] - y[~fit]) ** 2).mean())
    thr_grid = np.linspace(0.01, 0.99, 99)
    sf, yf = score[fit], y[fit]
    youden = [((sf >= t) & (yf == 1)).sum() / max((yf == 1).sum(), 1) - ((sf >= t) & (yf == 0)).sum() / max((yf == 0).sum(), 1) for t in thr_grid]
    threshold = float(thr_grid[int(np.argmax(youden))])
    hi = next((float(t) for t in thr_grid if (sf >= t).any() and (yf[sf >= t] == 0).mean() <= args.max_error), threshold)
    lo = next((float(t) for t in thr_grid[::-1] if (sf < t).any() and (yf[sf < t] == 1).mean() <= args.max_error), threshold)
    lo, hi = min(lo, threshold), max(hi, threshold)
    se, ye = score[~fit], y[~fit]
    result = {
        "compatibility": {"satellite": TERRAIN_CLASSES, "ground": SCENE_CLASSES, "matrix": m.tolist()},
        "groundPrior": prior.tolist(),
        "calibration": {"type": "logistic",
                        "feature": "log(sum_g e_g q'_g + 1e-6) - log(sum_g prior_g q'_g + 1e-6), e = p' @ matrix, "
                                   "p' = softmax(log p_terrain / terrainTemperature), q' = softmax(log q_scene / sceneTemperature)",
                        "terrainTemperature": t_tile, "sceneTemperature": t_photo, "a": a, "b": b,
                        "rocAucFitHalfByTemperature": {f"{tt},{tq}": round(v, 4) for (tt, tq), v in grid.items()}},
        "threshold": threshold, "plausibleAbove": hi, "suspiciousBelow": lo,
        "rocAuc": auc, "rocAucAtTemperature1": roc_auc(evidence(pt[ti[~fit]], qp[pi[~fit]], m, prior), y[~fit] == 1),
        "brier": brier,
        "atThreshold": {"tpr": float((se[ye == 1] >= threshold).mean()), "fpr": float((se[ye == 0] >= threshold).mean())},
        "pairs": {"fit": int(fit.sum()), "eval": int((~fit).sum()), "perTile": args.pairs_per_tile,
                  "tiles": len(tiles), "photos": len(photos)},
        "dryRun": args.dry_run,
    }
    write_json(step_dir(runs, "validation") / "result.json", result)
    print(f"[validation] ROC-AUC={auc:.4f} brier={brier:.4f} threshold={threshold:.2f} bands=({lo:.2f}, {hi:.2f}) a={a:.3f} b={b:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
