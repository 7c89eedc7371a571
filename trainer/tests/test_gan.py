"""The landscape GAN: deterministic per-tile noise (shared with the service through a golden
file), the served generator's contract, DiffAugment, and training that resumes."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from groundview.gan import (NOISE_DIM, CondGenerator, ProjDiscriminator, diff_augment, generator_condition_matrix,
                            load_checkpoint, tile_noise)

TRAINER = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "tile-noise.json"
CASES = [("2026-11-25-abc", 17, 29436, 46090), ("2026-11-25-abc", 17, 29437, 46090), ("other-seed", 17, 29436, 46090),
         ("2026-11-25-abc", 0, 0, 0), ("x", 19, 524287, 1), ("ünïcode", 12, 1234, 3456)]


def test_tile_noise_is_stable_per_tile_and_differs_between_tiles_and_seeds():
    a = tile_noise("v1", 17, 10, 20)
    assert a.dtype == np.float32 and a.shape == (NOISE_DIM,)
    assert np.array_equal(a, tile_noise("v1", 17, 10, 20))
    for other in (tile_noise("v1", 17, 11, 20), tile_noise("v1", 17, 10, 21), tile_noise("v1", 16, 10, 20), tile_noise("v2", 17, 10, 20)):
        assert np.abs(a - other).max() > 0.5
    odd = tile_noise("v1", 1, 2, 3, dim=7)
    assert odd.shape == (7,) and np.array_equal(odd, tile_noise("v1", 1, 2, 3)[:7])


def test_tile_noise_is_standard_normal():
    x = np.concatenate([tile_noise("s", 15, i, j) for i in range(40) for j in range(40)])
    assert abs(x.mean()) < 0.02 and abs(x.std() - 1) < 0.02
    # neighbouring tiles are uncorrelated
    a = np.stack([tile_noise("s", 15, i, 7) for i in range(400)])
    b = np.stack([tile_noise("s", 15, i + 1, 7) for i in range(400)])
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.05


def test_tile_noise_matches_the_golden_file_the_service_checks():
    """src/inference/tile-noise.ts is checked against the same file (test/tile-noise.test.ts)."""
    want = json.loads(GOLDEN.read_text())
    assert [tuple(c["tile"]) for c in want] == CASES
    for c in want:
        np.testing.assert_allclose(tile_noise(*c["tile"]), np.array(c["noise"], dtype=np.float32), rtol=0, atol=1e-6)


def test_served_generator_contract():
    g = CondGenerator(widths=(32, 32, 16, 16, 8, 8)).eval()
    p = torch.softmax(torch.randn(3, 7), 1)
    lat, noise = torch.randn(3, 8), torch.randn(3, NOISE_DIM)
    with torch.no_grad():
        y = g(p, lat, noise)
        assert y.shape == (3, 3, 128, 128) and y.abs().max() <= 1
        assert torch.equal(y, g(p, lat, noise))                      # deterministic
        assert (y[0] - g(p[:1], lat[:1], torch.randn(1, NOISE_DIM))[0]).abs().max() > 1e-4   # noise matters
        g.res = 64                                                     # before growing: resized to 128 px
        assert g(p, lat, noise).shape == (3, 3, 128, 128)
    m = generator_condition_matrix()
    assert np.allclose(m.sum(1), 1) and (m >= 0).all()


def test_discriminator_takes_both_resolutions_and_diffaugment_keeps_shape():
    d = ProjDiscriminator(widths=(8, 8, 16, 16, 32))
    c = torch.softmax(torch.randn(2, 10), 1)
    for res in (64, 128):
        x = torch.rand(2, 3, res, res) * 2 - 1
        y = diff_augment(x)
        assert y.shape == x.shape and not torch.equal(x, y)
        assert d(y, c, alpha=0.5).shape == (2,)


def run(*args):
    r = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def test_translation_shifts_by_reflection_and_never_pads_with_zeros():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 32, 32) + 0.5                        # no zero anywhere
    y = diff_augment(x, ("translation",))
    assert y.shape == x.shape and bool((y > 0).all())
    padded = torch.nn.functional.pad(x, [4, 4, 4, 4], mode="reflect")
    for i in range(16):                                        # each output is a window of the reflected input
        found = any(torch.equal(y[i], padded[i, :, dy:dy + 32, dx:dx + 32]) for dy in range(9) for dx in range(9))
        assert found


def test_training_resumes_from_its_checkpoint(tmp_path):
    run(TRAINER / "prepare_gan_data.py", "--dry-run", "--runs", tmp_path, "--models", TRAINER.parent / "models")
    out = run(TRAINER / "train_gan.py", "--dry-run", "--runs", tmp_path, "--max-steps", "2", "--out", tmp_path / "out")
    assert "stopped at step 2" in out
    ckpt = tmp_path / "gan" / "ckpt"
    meta = json.loads((ckpt / "meta.json").read_text())
    assert meta["step"] == 2 and meta["imagesSeen"] == 8
    saved_g = torch.load(ckpt / "G.pt")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["D.pt", "G.pt", "G_ema.pt", "meta.json", "opt_D.pt",
                                                                     "opt_G.pt", "report.tar"]
    out = run(TRAINER / "train_gan.py", "--dry-run", "--runs", tmp_path, "--max-steps", "4", "--resume")
    assert "resumed from" in out and "at step 2" in out and "stopped at step 4" in out
    meta = json.loads((ckpt / "meta.json").read_text())
    assert meta["step"] == 4 and meta["imagesSeen"] == 16
    lines = [json.loads(x) for x in (tmp_path / "gan" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [2, 4] and all("nearDuplicateShare" in m for m in lines)
    # the resumed run started from the saved weights, not from scratch: load them back into a model
    g, g2, d = (CondGenerator(widths=(32, 32, 16, 16, 8, 8)), CondGenerator(widths=(32, 32, 16, 16, 8, 8)),
                ProjDiscriminator(widths=(8, 16, 16, 32, 32)))
    g.load_state_dict(saved_g)
    fresh = CondGenerator(widths=(32, 32, 16, 16, 8, 8))
    load_checkpoint(ckpt, g2, CondGenerator(widths=(32, 32, 16, 16, 8, 8)), d, None, None, "cpu")
    moved = lambda a, b: max(float((a[k].float() - b[k].float()).abs().max()) for k in a if a[k].is_floating_point())  # noqa: E731
    assert moved(g.state_dict(), g2.state_dict()) < moved(fresh.state_dict(), g2.state_dict())


def test_export_measures_both_generators_and_writes_the_conditional_contract(tmp_path):
    """A dry run's generator exported into a copy of the shipped models: the manifest names the
    three inputs, the noise seed is the new version, the golden pair feeds all three inputs,
    and the shipped generator was measured as the baseline."""
    import shutil
    models = tmp_path / "models"
    shutil.copytree(TRAINER.parent / "models", models)
    run(TRAINER / "prepare_gan_data.py", "--dry-run", "--runs", tmp_path, "--models", models)
    run(TRAINER / "train_gan.py", "--dry-run", "--runs", tmp_path, "--max-steps", "2")
    before = json.loads((models / "manifest.json").read_text())
    out = run(TRAINER / "export_generator.py", "--dry-run", "--runs", tmp_path, "--models", models)
    m = json.loads((models / "manifest.json").read_text())
    g = m["models"]["generator"]
    assert m["version"] != before["version"] and g["noiseSeed"] == m["version"]
    assert g["inputs"] == {"terrain": "terrain", "latent": "latent", "noise": "noise"} and g["noiseDim"] == NOISE_DIM
    assert g["latentDim"] == m["models"]["encoder"]["latentDim"] and g["size"] == [128, 128]
    assert g["metrics"]["onnx"]["threads1"]["maxAbsDiff"] < 1e-3
    for key in ("nearDuplicateShare", "twoSampleAccuracy", "birthday", "memorisation"):
        assert key in g["metrics"] and key in g["metrics"]["baseline"]
    assert g["metrics"]["baseline"]["version"] == before["version"]
    golden = json.loads((models / "golden" / "generator.json").read_text())
    assert [i["name"] for i in golden["inputs"]] == ["terrain", "latent", "noise"]
    assert (models / "torch" / "gan" / "meta.json").exists() and "wrote" in out
    assert m["models"]["terrainClassifier"] == before["models"]["terrainClassifier"]     # the rest is untouched
