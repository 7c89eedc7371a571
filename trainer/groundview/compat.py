"""The satellite -> ground compatibility matrix.

Row t is the distribution of ground-level terrain a person would photograph when standing
in a tile whose aerial terrain is t. It encodes the domain knowledge that replaces paired
data (none exists): e.g. from a 'residential' tile one mostly sees streets and buildings
(urban), sometimes the road itself, sometimes gardens (field). A zero means 'not plausible':
those pairs are the mismatches used to fit and test validatePhoto's score.

Rows: TERRAIN_CLASSES; columns: SCENE_CLASSES
(forest, field, water, urban, road, mountain, snow_ice, desert, barren, wetland).
"""
from __future__ import annotations

import numpy as np

from .common import SCENE_CLASSES, TERRAIN_CLASSES

_ROWS = {
    #              forest field water urban road  mount snow  desert barren wetland
    "grass":       [0.10, 0.60, 0.00, 0.05, 0.05, 0.15, 0.00, 0.00, 0.00, 0.05],
    "field":       [0.00, 0.75, 0.00, 0.00, 0.05, 0.05, 0.00, 0.05, 0.10, 0.00],
    "industrial":  [0.00, 0.00, 0.00, 0.70, 0.25, 0.00, 0.00, 0.00, 0.05, 0.00],
    "water":       [0.00, 0.00, 0.85, 0.00, 0.00, 0.00, 0.05, 0.00, 0.00, 0.10],
    "forest":      [0.85, 0.00, 0.00, 0.00, 0.00, 0.10, 0.00, 0.00, 0.00, 0.05],
    "residential": [0.00, 0.05, 0.00, 0.75, 0.20, 0.00, 0.00, 0.00, 0.00, 0.00],
    "parking":     [0.00, 0.00, 0.00, 0.60, 0.40, 0.00, 0.00, 0.00, 0.00, 0.00],
}


def compatibility_matrix() -> np.ndarray:
    m = np.array([_ROWS[t] for t in TERRAIN_CLASSES], dtype=np.float64)
    assert m.shape == (len(TERRAIN_CLASSES), len(SCENE_CLASSES))
    assert np.allclose(m.sum(1), 1.0), "rows must be distributions"
    return m
