#!/usr/bin/env python3
"""Writes trainer/tests/golden/score.json: validatePhoto's score (groundview/validation.py) on fixed
tile and photo probabilities, with the compatibility matrix and prior the trainer uses, for the
service's scorePair (test/score.test.ts) to be checked against."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import SCENE_CLASSES, TERRAIN_CLASSES  # noqa: E402
from groundview.compat import compatibility_matrix  # noqa: E402
from groundview.validation import calibrated_score, evidence  # noqa: E402

OUT = Path(__file__).resolve().parent / "tests" / "golden" / "score.json"


def golden() -> dict:
    m = compatibility_matrix()
    prior = m.mean(0)
    forest_tile = [0.05, 0.05, 0.05, 0.05, 0.7, 0.05, 0.05]
    photos = {"forest": [0.6, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.02, 0.02],
              "city": [0.02, 0.02, 0.05, 0.7, 0.1, 0.05, 0.03, 0.01, 0.01, 0.01],
              "flat": [0.1] * 10}
    calibrations = [{"a": 1.7, "b": -0.3}, {"a": 1.7, "b": -0.3, "terrainTemperature": 0.5, "sceneTemperature": 0.35}]
    cases = []
    for cal in calibrations:
        for name, q in photos.items():
            x = evidence(np.array(forest_tile), np.array(q), m, prior, cal.get("terrainTemperature", 1.0), cal.get("sceneTemperature", 1.0))
            cases.append({"photo": name, "tile": forest_tile, "scene": q, "calibration": cal,
                          "score": float(calibrated_score(x, cal["a"], cal["b"]))})
    return {"terrainClasses": TERRAIN_CLASSES, "sceneClasses": SCENE_CLASSES, "matrix": m.tolist(),
            "groundPrior": prior.tolist(), "cases": cases}


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(golden(), indent=1))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
