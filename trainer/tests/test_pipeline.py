"""Runs every training command's --dry-run on tiny generated data, then export, end to end."""
import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

TRAINER = Path(__file__).resolve().parent.parent


def run(script, *args):
    r = subprocess.run([sys.executable, str(TRAINER / script), "--dry-run", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    out = runs / "models"
    logs = {}
    logs["terrain"] = run("train_terrain.py", "--runs", str(runs), "--input-size", "32", "--serve-sizes", "32,40")
    logs["scene"] = run("train_scene.py", "--runs", str(runs))
    logs["generator"] = run("train_generator.py", "--runs", str(runs), "--sweep", "4,8")
    logs["encoder"] = run("train_encoder.py", "--runs", str(runs))
    logs["validation"] = run("fit_validation.py", "--runs", str(runs))
    logs["export"] = run("export.py", "--runs", str(runs), "--out", str(out))
    return runs, out, logs


def test_training_prints_progress(exported):
    _, _, logs = exported
    assert "epoch 1/1" in logs["terrain"] and "left~" in logs["terrain"]
    assert "small-loss cleaning removed" in logs["scene"]
    assert "sweep d=4" in logs["generator"] and "sweep d=8" in logs["generator"]
    assert "terrain consistency" in logs["encoder"]
    assert "ROC-AUC" in logs["validation"]


def test_manifest_has_the_export_contract(exported):
    _, out, _ = exported
    m = json.loads((out / "manifest.json").read_text())
    assert m["version"] and m["trainedAt"]
    models = m["models"]
    tc = models["terrainClassifier"]
    assert tc["classes"] == ["grass", "field", "industrial", "water", "forest", "residential", "parking"]
    assert tc["groundResolutionM"] > 0 and len(tc["input"]["size"]) == 2
    assert len(tc["input"]["mean"]) == 3 and len(tc["input"]["std"]) == 3
    assert tc["outputs"] == {"probabilities": "probabilities"}
    sc = models["sceneClassifier"]
    assert sc["classes"][0] == "forest" and len(sc["classes"]) == 10
    assert set(sc["outputs"]) == {"probabilities", "embedding"}
    g = models["generator"]
    assert g["outputRange"] == [-1, 1] and g["size"] == [128, 128] and g["latentDim"] in (4, 8)
    assert models["encoder"]["latentDim"] == g["latentDim"]
    v = models["validation"]
    assert {"calibration", "threshold", "rocAuc", "compatibility"} <= set(v)
    assert len(v["compatibility"]["matrix"]) == 7


def test_onnx_files_are_valid_and_reproduced_by_onnxruntime_node(exported):
    _, out, _ = exported
    m = json.loads((out / "manifest.json").read_text())
    for name, spec in m["models"].items():
        if name == "validation":
            continue
        onnx.checker.check_model(onnx.load(str(out / spec["file"])))
        assert (out / spec["golden"]).exists()
        assert spec["metrics"]["onnx"]["maxAbsDiff"] < 1e-3
    assert (out / "contact_sheet.png").stat().st_size > 1000


def test_terrain_is_served_at_the_best_scored_size_and_the_encoder_at_the_same_size(exported):
    runs, out, logs = exported
    tres = json.loads((runs / "terrain" / "result.json").read_text())
    assert set(tres["servedSizeSweep"]) == {"32", "40"} and tres["trainSize"] == 32
    best = max(tres["servedSizeSweep"].values())
    assert tres["servedSizeSweep"][str(tres["inputSize"])] == best
    assert "served at 40 px" in logs["terrain"]
    m = json.loads((out / "manifest.json").read_text())["models"]
    assert m["terrainClassifier"]["input"]["size"] == [tres["inputSize"]] * 2
    assert m["encoder"]["input"]["size"] == m["terrainClassifier"]["input"]["size"]     # one tensor serves both
    assert json.loads((runs / "encoder" / "result.json").read_text())["trainSize"] == 32


def test_validation_temperatures_are_fitted_and_recorded(exported):
    _, out, logs = exported
    cal = json.loads((out / "manifest.json").read_text())["models"]["validation"]["calibration"]
    assert cal["terrainTemperature"] > 0 and cal["sceneTemperature"] > 0
    assert len(cal["rocAucFitHalfByTemperature"]) == 25
    assert "temperatures on the fit half" in logs["validation"]


def test_an_exported_classifier_loads_back_exactly(exported, tmp_path):
    """train_terrain.py --init <exported .onnx> --epochs 0 scores the validation tiles as the original did."""
    runs, out, _ = exported
    tres = json.loads((runs / "terrain" / "result.json").read_text())
    run("train_terrain.py", "--runs", str(tmp_path), "--init", str(out / "terrainClassifier.onnx"), "--epochs", "0",
        "--input-size", str(tres["inputSize"]))
    again = json.loads((tmp_path / "terrain" / "result.json").read_text())
    assert again["metrics"]["validation"]["confusion"] == tres["metrics"]["validation"]["confusion"]


def test_reuse_shipped_puts_back_what_export_wrote(exported, tmp_path):
    """reuse_shipped.py reads the exported scene classifier back (it reproduces the golden pair) and the generator."""
    import base64
    import numpy as np
    import torch
    sys.path.insert(0, str(TRAINER))
    from groundview.models import SmallResNet
    _, out, _ = exported
    r = subprocess.run([sys.executable, str(TRAINER / "reuse_shipped.py"), "--models", str(out), "--runs", str(tmp_path),
                        "--steps", "generator,scene"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    res = json.loads((tmp_path / "scene" / "result.json").read_text())
    assert res["reusedFrom"]["version"] == manifest["version"]
    assert res["metrics"]["validation"]["top1"] == manifest["models"]["sceneClassifier"]["metrics"]["top1"]
    m = SmallResNet(10)
    m.load_state_dict(torch.load(tmp_path / "scene" / "model.pt"))
    m.eval()
    golden = json.loads((out / "golden" / "sceneClassifier.json").read_text())
    x = np.frombuffer(base64.b64decode(golden["input"]["data"]), "<f4").reshape(golden["input"]["shape"])
    want = np.frombuffer(base64.b64decode(golden["outputs"]["probabilities"]["data"]), "<f4")
    with torch.no_grad():
        got = torch.softmax(m(torch.from_numpy(x.copy())), 1).numpy().ravel()
    assert np.abs(got - want).max() < 1e-4
    assert (tmp_path / "generator" / "vaegan.pt").exists()


def test_grid_training_resumes_and_the_export_adds_a_grid_output(exported):
    runs, out, _ = exported
    log = run("train_terrain_grid.py", "--runs", str(runs), "--models", str(out))
    assert "val mosaic mIoU" in log and (runs / "terrain_grid" / "head.pt").exists() and (runs / "terrain_grid" / "base.onnx").exists()
    log = run("train_terrain_grid.py", "--runs", str(runs), "--models", str(out), "--resume", "--tune-branch")
    assert "val mosaic mIoU" in log
    before = json.loads((out / "manifest.json").read_text())
    run("export_terrain_grid.py", "--runs", str(runs), "--models", str(out))
    m = json.loads((out / "manifest.json").read_text())
    spec = m["models"]["terrainClassifier"]
    assert spec["outputs"] == {"probabilities": "probabilities", "grid": "grid"}
    assert spec["grid"]["cells"] == 16 and spec["grid"]["minCells"] >= 1
    assert 0 <= spec["grid"]["metrics"]["mosaicMeanIoU"] <= 1
    assert m["version"] != before["version"]
    g = onnx.load(str(out / spec["file"]))
    assert [o.name for o in g.graph.output] == ["probabilities", "grid"]
    golden = json.loads((out / spec["golden"]).read_text())
    assert golden["outputs"]["grid"]["shape"][1:] == [7, 16, 16]
    # Exporting again (a longer-trained head) starts from the kept classifier, not the file with a grid.
    run("export_terrain_grid.py", "--runs", str(runs), "--models", str(out))
    assert json.loads((out / "manifest.json").read_text())["models"]["terrainClassifier"]["outputs"]["grid"] == "grid"


def test_quantize_installs_an_int8_classifier_and_a_grid_export_puts_the_float_one_back(exported, tmp_path):
    """quantize_terrain.py --install: a QDQ model served, the float one kept; export_terrain_grid.py undoes it."""
    sys.path.insert(0, str(TRAINER))
    from groundview.data import make_synthetic_data
    runs, out, _ = exported
    if not (runs / "terrain_grid" / "head.pt").exists():  # run alone (-k): the classifier gets its grid first
        run("train_terrain_grid.py", "--runs", str(runs), "--models", str(out))
        run("export_terrain_grid.py", "--runs", str(runs), "--models", str(out))
    data = make_synthetic_data(tmp_path / "data", per_class=8)
    before = json.loads((out / "manifest.json").read_text())
    float_file = before["models"]["terrainClassifier"]["file"]

    def quantize():
        return subprocess.run([sys.executable, str(TRAINER / "quantize_terrain.py"), "--install", str(out), "--data", str(data),
                               "--mosaics", "0", "--calib-per-class", "4"], capture_output=True, text=True)

    r = quantize()
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    m = json.loads((out / "manifest.json").read_text())
    spec = m["models"]["terrainClassifier"]
    assert spec["file"] == "terrainClassifier.int8.onnx" and spec["floatFile"] == float_file
    assert m["version"] != before["version"] and m["history"][-1]["replacedBy"] == m["version"]
    ops = {n.op_type for n in onnx.load(str(out / spec["file"])).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    q = spec["quantization"]
    assert q["activations"] > 0 and 0 <= q["validation"]["top1Agreement"] <= 1 and 0 <= q["validation"]["gridCellAgreement"] <= 1
    golden = json.loads((out / spec["golden"]).read_text())
    assert golden["input"] == json.loads((out / spec["floatGolden"]).read_text())["input"]
    assert set(golden["outputs"]) == {"probabilities", "grid"}
    r2 = quantize()
    assert r2.returncode != 0 and "already quantized" in r2.stderr
    run("export_terrain_grid.py", "--runs", str(runs), "--models", str(out))
    spec = json.loads((out / "manifest.json").read_text())["models"]["terrainClassifier"]
    assert spec["file"] == float_file and "floatFile" not in spec and "quantization" not in spec


def test_scripts_import_only_the_groundview_package_never_each_other():
    scripts = {p.stem for p in TRAINER.glob("*.py")}
    for p in TRAINER.glob("*.py"):
        for line in p.read_text().splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from"):
                assert words[1].split(".")[0] not in scripts, f"{p.name} imports the script {words[1]}: move what it shares into groundview/"
