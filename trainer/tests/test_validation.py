"""validatePhoto's score: the golden file the service is tested against is this implementation's."""
import json
from pathlib import Path

import numpy as np

from groundview.common import SCENE_CLASSES, TERRAIN_CLASSES
from groundview.compat import compatibility_matrix
from groundview.validation import calibrated_score, evidence

GOLDEN = Path(__file__).resolve().parent / "golden" / "score.json"


def test_the_golden_file_holds_the_trainers_classes_matrix_and_scores():
    g = json.loads(GOLDEN.read_text())
    assert g["terrainClasses"] == TERRAIN_CLASSES and g["sceneClasses"] == SCENE_CLASSES
    m = compatibility_matrix()
    assert np.allclose(g["matrix"], m) and np.allclose(g["groundPrior"], m.mean(0))
    assert len(g["cases"]) >= 4
    for c in g["cases"]:
        cal = c["calibration"]
        x = evidence(np.array(c["tile"]), np.array(c["scene"]), m, m.mean(0),
                     cal.get("terrainTemperature", 1.0), cal.get("sceneTemperature", 1.0))
        assert abs(float(calibrated_score(x, cal["a"], cal["b"])) - c["score"]) < 1e-12, c
