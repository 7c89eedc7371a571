"""validatePhoto's score, as fit_validation.py fits it and the service computes it
(src/validate-photo/validate-photo.service.ts scorePair; tests/golden/score.json holds both to it).

For a tile with terrain probabilities p and a photo with scene probabilities q: p' and q' at
their temperatures, the expected ground distribution e = p' @ M, the evidence
x = log(e . q' + EPS) - log(prior . q' + EPS), and the score sigmoid(a x + b).
"""
from __future__ import annotations

import numpy as np

EPS = 1e-6


TEMPERATURES = (1.0, 0.75, 0.5, 0.35, 0.25)


def at_temperature(p: np.ndarray, t: float) -> np.ndarray:
    """softmax(log p / t): t < 1 sharpens a probability vector, t = 1 leaves it as it is."""
    if t == 1.0:
        return p
    z = np.log(np.maximum(p, 1e-12)) / t
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def evidence(p_tile: np.ndarray, q_photo: np.ndarray, m: np.ndarray, prior: np.ndarray,
             t_tile: float = 1.0, t_photo: float = 1.0) -> np.ndarray:
    p, q = at_temperature(p_tile, t_tile), at_temperature(q_photo, t_photo)
    e = p @ m
    return np.log((e * q).sum(-1) + EPS) - np.log((prior * q).sum(-1) + EPS)


def calibrated_score(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """The calibrated probability that the photo belongs at the tile."""
    return 1 / (1 + np.exp(-(a * x + b)))
