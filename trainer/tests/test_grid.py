"""The terrain grid (issue 13): cleaning, mosaics, the grid head, and its training and export end to end."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from groundview.grid import GridHead, clean_grid, random_tiles
from groundview.models import SmallResNet
from groundview.mosaic import iou_by_class, make_mosaic

GOLDEN = Path(__file__).resolve().parent / "golden" / "grid-clean.json"


def test_clean_grid_reproduces_the_golden_file_the_service_is_tested_against():
    cases = json.loads(GOLDEN.read_text())
    assert len(cases) >= 5
    for c in cases:
        p = np.array(c["probs"], dtype=np.float64).reshape(c["classes"], c["side"], c["side"])
        labels, conf = clean_grid(p, min_cells=c["minCells"])
        assert labels.ravel().tolist() == c["labels"]
        assert np.abs(np.round(conf.ravel() * 255) - np.array(c["confidence255"])).max() <= 1


def test_cleaning_joins_small_pieces_and_keeps_large_ones():
    p = np.full((2, 8, 8), 0.1)
    p[0] = 0.9
    p[1, 3, 3], p[0, 3, 3] = 0.9, 0.1                   # one lone cell of class 1
    p[1, :, 6:], p[0, :, 6:] = 0.9, 0.1                  # a band two cells wide
    labels, conf = clean_grid(p, min_cells=4)
    assert labels[3, 3] == 0
    assert (labels[:, 6:] == 1).all() and (labels[:, :6] == 0).all()
    assert np.isclose(conf[3, 3], 0.1), "the confidence is the probability of the cell's final terrain"
    conf[3, 3] = 0.9
    assert np.allclose(conf, 0.9)


def test_mosaic_truth_is_the_blob_of_every_cell():
    rng = np.random.default_rng(0)
    images = np.stack([np.full((32, 32, 3), 40 * c, dtype=np.uint8) for c in range(4)])
    m = make_mosaic(images, np.arange(4), 4, rng, tiles=2, tile=64, block=16)
    truth = m.truth_cells(8)                             # 2 cells a block
    assert truth.shape == (16, 16)
    for by in range(8):
        for bx in range(8):
            c = m.blocks[by, bx]
            assert (m.image[by * 16:(by + 1) * 16, bx * 16:(bx + 1) * 16] == 40 * c).all()
            assert (truth[by * 2:(by + 1) * 2, bx * 2:(bx + 1) * 2] == c).all()
    assert iou_by_class(truth, truth, 4) == {c: 1.0 for c in np.unique(truth).tolist()}
    with pytest.raises(ValueError):
        m.truth_cells(6)


def test_random_tiles_label_each_cell_centre_with_the_scene_shown_there():
    rng = np.random.default_rng(1)
    images = np.stack([np.full((48, 48, 3), 30 * (c + 1), dtype=np.uint8) for c in range(5)])
    x, t = random_tiles(images, np.arange(5), 5, rng, 8, tile=64, cells=8)
    assert x.shape == (8, 64, 64, 3) and t.shape == (8, 8, 8)
    centres = np.arange(8) * 8 + 4
    assert (x[:, centres][:, :, centres, 0] == 30 * (t + 1)).all()


def test_the_grid_head_leaves_the_tile_probabilities_alone_and_starts_from_the_class_activation_map():
    torch.manual_seed(0)
    model = SmallResNet(7).eval()
    x = torch.randn(2, 3, 64, 64)
    for tune in (False, True):
        head = GridHead(model, 16, 7, tune_branch=tune).eval()
        probs, grid = head(x)
        assert torch.allclose(probs, torch.softmax(model(x), 1), atol=1e-6)
        assert grid.shape == (2, 7, 16, 16)
        assert torch.allclose(grid.sum(1), torch.ones(2, 16, 16), atol=1e-5)
        # The decoder's last layer starts at zero: the grid is the upsampled class activation map,
        # whose mean logits are the tile's.
        _, logits = head.forward_logits(x)
        cam = torch.nn.functional.conv2d(model.trunk(x), model.head.weight[:, :, None, None], model.head.bias)
        assert torch.allclose(logits.mean((2, 3)), cam.mean((2, 3)), atol=1e-4)
    assert sum(p.numel() for p in GridHead(model, 16, 7, tune_branch=True).parameters() if p.requires_grad) > \
        sum(p.numel() for p in GridHead(model, 16, 7).parameters() if p.requires_grad)
