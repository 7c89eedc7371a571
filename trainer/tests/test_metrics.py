import numpy as np
import pytest
import torch

from groundview.compat import compatibility_matrix
from groundview.common import SCENE_CLASSES, TERRAIN_CLASSES
from groundview.data import augment, class_weights
from groundview.metrics import classification_report, closest_pairs, frechet_distance, mean_pairwise_ssim, roc_auc


def test_roc_auc_known_values():
    assert roc_auc(np.array([0.9, 0.8, 0.1, 0.2]), np.array([True, True, False, False])) == 1.0
    assert roc_auc(np.array([0.1, 0.2, 0.9, 0.8]), np.array([True, True, False, False])) == 0.0
    assert roc_auc(np.array([0.5, 0.5]), np.array([True, False])) == 0.5


def test_classification_report_counts_and_macro_f1():
    r = classification_report(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ["a", "b"])
    assert r["top1"] == 0.75
    assert r["confusion"]["rows_true_cols_pred"] == [[1, 1], [0, 2]]
    assert abs(r["macroF1"] - (2 / 3 + 0.8) / 2) < 1e-9


def test_frechet_distance_zero_for_same_set_and_grows_with_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 8))
    assert abs(frechet_distance(a, a)) < 1e-6
    assert frechet_distance(a, a + 3.0) > 8 * 9 * 0.9


def test_ssim_of_identical_images_is_one_and_closest_pair_found():
    x = torch.rand(1, 3, 32, 32).repeat(3, 1, 1, 1)
    assert abs(mean_pairwise_ssim(x) - 1.0) < 1e-6
    y = torch.rand(4, 3, 16, 16)
    y[3] = y[1]
    assert closest_pairs(y, 1)[0][:2] == (1, 3)


def test_compatibility_matrix_is_row_stochastic_with_mismatches():
    m = compatibility_matrix()
    assert m.shape == (len(TERRAIN_CLASSES), len(SCENE_CLASSES))
    assert np.allclose(m.sum(1), 1)
    assert (m == 0).any(axis=1).all(), "every terrain needs incompatible ground classes"


def test_augment_keeps_shape_and_range():
    g = torch.Generator().manual_seed(0)
    out = augment(torch.rand(5, 3, 40, 40), 24, g)
    assert out.shape == (5, 3, 24, 24)
    assert out.min() >= 0 and out.max() <= 1


def test_augment_grey_makes_some_images_grey_and_leaves_the_rest():
    g = torch.Generator().manual_seed(1)
    out = augment(torch.rand(64, 3, 16, 16), 16, g, colour=0.0, grey=0.5)
    spread = (out.max(dim=1).values - out.min(dim=1).values).flatten(1).max(1).values
    n_grey = int((spread < 1e-6).sum())
    assert 10 < n_grey < 54, n_grey


def test_class_weights_power():
    labels = np.array([0] * 90 + [1] * 10)
    full, root, none = (class_weights(labels, 2, p) for p in (1.0, 0.5, 0.0))
    assert torch.allclose(full.mean(), torch.tensor(1.0)) and torch.allclose(root.mean(), torch.tensor(1.0))
    assert full[1] / full[0] == pytest.approx(9.0, rel=1e-4)
    assert root[1] / root[0] == pytest.approx(3.0, rel=1e-4)
    assert torch.allclose(none, torch.ones(2))
