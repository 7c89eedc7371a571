#!/usr/bin/env python3
"""Writes two dates of mosaics of validation aerial scenes as map tiles, with the truth of what
changed, for measuring terrainChange through the running service (scripts/measure-terrain-change.mjs).

Date A: mosaics as make_mosaic_tiles.py makes them (groundview/mosaic.py). Date B: the same
mosaics seen again: every tile with its own change of light and sensor (brightness, contrast,
saturation, white balance, gamma, a little blur, another JPEG quality), and in `--changed` of
the mosaics real change: a few of their blobs given a scene of another terrain (new housing on a
field, a drained lake; not with --swaps-only) and whole tiles swapped for tiles of another place. The other mosaics
change only in light and sensor: whatever terrainChange flags there is false change.

OUT/a/tiles/{z}/{x}/{y}.jpg and OUT/b/tiles/...; OUT/truth.json holds, per mosaic, its first
tile and the terrain of every 16 px cell on both dates.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import TERRAIN_CLASSES, base_parser, setup  # noqa: E402
from groundview.data import load_terrain, split_masks  # noqa: E402
from groundview.change import changed_mosaic, reshoot  # noqa: E402
from groundview.mosaic import make_mosaic  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--mosaics", type=int, default=24)
    p.add_argument("--changed", type=float, default=0.5, help="share of mosaics with real change")
    p.add_argument("--swaps-only", action="store_true", help="real change is only whole tiles swapped (no blobs of new terrain)")
    p.add_argument("--z", type=int, default=17)
    p.add_argument("--x0", type=int, default=29400)
    p.add_argument("--y0", type=int, default=46080)
    args = p.parse_args(argv)
    setup(args)
    ds = load_terrain(Path(args.data), 224, cache_dir(args.runs))
    _, va = split_masks(ds)
    val = ds.subset(va)
    rng = np.random.default_rng(args.seed + 202)
    out = Path(args.out)
    mosaics = [make_mosaic(val.images, val.labels, len(TERRAIN_CLASSES), rng) for _ in range(args.mosaics)]
    # Tiles swapped in come from places not in the measured set.
    others = [make_mosaic(val.images, val.labels, len(TERRAIN_CLASSES), rng) for _ in range(4)]
    truth = []
    for i, m in enumerate(mosaics):
        real = bool(rng.random() < args.changed)
        m2 = changed_mosaic(m, val.images, val.labels, len(TERRAIN_CLASSES), others, rng,
                            blobs=not args.swaps_only) if real else m
        t = m.image.shape[0] // m.tile
        x0 = args.x0 + i * (t + 1)
        for ty in range(t):
            for tx in range(t):
                for date, mm in (("a", m), ("b", m2)):
                    d = out / date / "tiles" / str(args.z) / str(x0 + tx)
                    d.mkdir(parents=True, exist_ok=True)
                    tile = mm.tile_image(ty, tx)
                    if date == "a":
                        Image.fromarray(tile).save(d / f"{args.y0 + ty}.jpg", quality=90)
                    else:
                        reshoot(tile, rng).save(d / f"{args.y0 + ty}.jpg", quality=int(rng.integers(70, 92)))
        truth.append({"z": args.z, "x0": x0, "y0": args.y0, "tiles": t, "cells": 16, "changed": real,
                      "a": m.truth_cells(16).tolist(), "b": m2.truth_cells(16).tolist()})
    (out / "truth.json").write_text(json.dumps({"classes": TERRAIN_CLASSES, "mosaics": truth}))
    n_real = sum(t["changed"] for t in truth)
    print(f"wrote {args.mosaics} mosaics ({n_real} with real change) on two dates under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
