"""The change detector (issue 14): its pairs, its symmetry, and its training and export end to end."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import torch

from groundview.change import ChangeHead, change_pairs, change_scores, reshoot
from groundview.models import SmallResNet

TRAINER = Path(__file__).resolve().parent.parent


def test_pairs_mark_as_changed_exactly_the_cells_whose_terrain_differs():
    rng = np.random.default_rng(3)
    # Scenes of one flat colour per class: a cell's colour on each date names its terrain.
    images = np.stack([np.full((48, 48, 3), 40 * (c + 1), dtype=np.uint8) for c in range(5)])
    a, b, truth = change_pairs(images, np.arange(5), 5, rng, 40, tile=64, cells=8, max_shift=0)
    assert a.shape == b.shape == (40, 64, 64, 3) and truth.shape == (40, 8, 8) and truth.dtype == bool
    same = ~truth.reshape(40, -1).any(1)
    assert 0 < same.sum() < 40, "some pairs are colour-only, some have change"
    assert truth.reshape(40, -1).all(1).any(), "some pairs have the whole tile swapped"
    # Re-shooting moves colours, not terrain: the pairs' pictures differ even where nothing changed.
    assert np.abs(a[same].astype(int) - b[same].astype(int)).mean() > 2


def test_reshoot_keeps_the_picture_and_changes_its_light():
    rng = np.random.default_rng(0)
    tile = (np.random.default_rng(1).random((32, 32, 3)) * 255).astype(np.uint8)
    out = np.asarray(reshoot(tile, rng)).astype(float)
    assert out.shape == tile.shape
    assert np.corrcoef(out.ravel(), tile.astype(float).ravel())[0, 1] > 0.8
    assert np.abs(out - tile).mean() > 1


def test_the_head_is_symmetric_in_the_dates_and_its_trunk_is_frozen():
    torch.manual_seed(0)
    head = ChangeHead(SmallResNet(7), cells=16, width=8).eval()
    a, b = torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        p, q = head(a, b), head(b, a)
    assert p.shape == (2, 16, 16) and bool(((p >= 0) & (p <= 1)).all())
    assert torch.allclose(p, q, atol=1e-6)
    assert not any(t.requires_grad for t in head.model.parameters())
    head.train()
    assert not head.model.training, "the frozen trunk stays in eval mode"


def test_scores_count_precision_recall_and_false_change():
    truth = np.zeros((2, 2, 2), dtype=bool)
    truth[0, 0] = True                                   # pair 0: two changed cells; pair 1: colour-only
    prob = np.array([[[0.9, 0.9], [0.1, 0.7]], [[0.7, 0.1], [0.1, 0.1]]])
    s = change_scores(prob, truth, np.array([False, True]), [0.5, 0.8])
    assert s[0] == {"threshold": 0.5, "precision": 0.5, "recall": 1.0, "f1": 0.6667, "falseChangeShare": 0.25}
    assert s[1]["precision"] == 1.0 and s[1]["falseChangeShare"] == 0.0


def test_training_resumes_and_exports_a_detector_onnxruntime_can_check(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(TRAINER.parent / "models", models, ignore=shutil.ignore_patterns("torch", "*.png"))
    def run(*args):
        r = subprocess.run([sys.executable, str(TRAINER / "train_change.py"), "--dry-run", "--runs", str(tmp_path),
                            "--models", str(models), *args], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        return r.stdout
    out = run()
    assert "[change] step 4 " in out and "threshold" in out
    out = run("--resume")
    assert "[change] step 8 " in out, "a resumed run counts on from the checkpoint's steps"
    run("--export")
    manifest = json.loads((models / "manifest.json").read_text())
    spec = manifest["models"]["changeDetector"]
    assert spec["cells"] == 16 and 0 < spec["threshold"] < 1
    assert spec["input"]["names"] == ["before", "after"] and spec["input"]["size"] == manifest["models"]["terrainClassifier"]["input"]["size"]
    g = onnx.load(str(models / spec["file"])).graph
    assert [i.name for i in g.input] == ["before", "after"] and [o.name for o in g.output] == ["change"]
    golden = json.loads((models / spec["golden"]).read_text())
    assert [i["name"] for i in golden["inputs"]] == ["before", "after"]
    assert manifest["totalBytes"] == sum((models / m["file"]).stat().st_size for m in manifest["models"].values() if "file" in m)
