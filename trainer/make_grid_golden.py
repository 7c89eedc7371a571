#!/usr/bin/env python3
"""Writes trainer/tests/golden/grid-clean.json: random probability grids and what clean_grid makes
of them, for the service's cleanGrid (src/terrain/grid.ts) to be checked against."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.grid import clean_grid  # noqa: E402

OUT = Path(__file__).resolve().parent / "tests" / "golden" / "grid-clean.json"


def cases(seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i, (side, n, min_cells, blocky) in enumerate([(4, 3, 2, False), (8, 7, 4, True), (16, 7, 4, True), (16, 7, 4, False),
                                                    (16, 5, 6, True), (8, 2, 3, False)]):
        if blocky:   # smooth blobs with noise: the shape of real grids
            base = rng.random((n, max(2, side // 4), max(2, side // 4)))
            base = np.kron(base, np.ones((side // base.shape[1], side // base.shape[2])))
            logits = 4 * base + rng.normal(0, 0.6, (n, side, side))
        else:
            logits = rng.normal(0, 1.5, (n, side, side))
        p = np.exp(logits) / np.exp(logits).sum(0, keepdims=True)
        p = p.astype(np.float32)
        labels, conf = clean_grid(p.astype(np.float64), min_cells=min_cells)
        out.append({"side": side, "classes": n, "minCells": min_cells, "probs": [round(float(v), 6) for v in p.ravel()],
                    "labels": labels.ravel().tolist(), "confidence255": np.round(conf.ravel() * 255).astype(int).tolist()})
    return out


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # The probabilities are rounded to 6 decimals in the file; the labels are computed from the rounded values.
    cs = cases()
    for c in cs:
        p = np.array(c["probs"], dtype=np.float64).reshape(c["classes"], c["side"], c["side"])
        labels, conf = clean_grid(p, min_cells=c["minCells"])
        c["labels"], c["confidence255"] = labels.ravel().tolist(), np.round(conf.ravel() * 255).astype(int).tolist()
    OUT.write_text(json.dumps(cs))
    print(f"wrote {OUT} ({len(cs)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
