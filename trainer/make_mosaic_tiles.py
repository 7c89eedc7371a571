#!/usr/bin/env python3
"""Writes mosaics of validation aerial scenes as map tiles, with their truth, for measuring terrain
maps through the running service (scripts/measure-terrain-grid.mjs).

Each mosaic (groundview/mosaic.py: blobs of 64 px blocks of different terrains) is cut into 4 x 4
tiles of 256 px written as OUT/tiles/{z}/{x}/{y}.jpg, mosaics side by side with a one-tile gap;
OUT/truth.json holds, per mosaic, its first tile and the terrain of every 16 px cell.
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
from groundview.mosaic import make_mosaic  # noqa: E402
from groundview.runs import cache_dir  # noqa: E402


def main(argv=None) -> int:
    p = base_parser(__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--mosaics", type=int, default=12)
    p.add_argument("--z", type=int, default=17)
    p.add_argument("--x0", type=int, default=29400)
    p.add_argument("--y0", type=int, default=46080)
    p.add_argument("--quality", type=int, default=90)
    args = p.parse_args(argv)
    setup(args)
    ds = load_terrain(Path(args.data), 224, cache_dir(args.runs))
    _, va = split_masks(ds)
    val = ds.subset(va)
    rng = np.random.default_rng(args.seed + 101)
    out = Path(args.out)
    truth = []
    for i in range(args.mosaics):
        m = make_mosaic(val.images, val.labels, len(TERRAIN_CLASSES), rng)
        t = m.image.shape[0] // m.tile
        x0 = args.x0 + i * (t + 1)
        for ty in range(t):
            for tx in range(t):
                d = out / "tiles" / str(args.z) / str(x0 + tx)
                d.mkdir(parents=True, exist_ok=True)
                Image.fromarray(m.tile_image(ty, tx)).save(d / f"{args.y0 + ty}.jpg", quality=args.quality)
        truth.append({"z": args.z, "x0": x0, "y0": args.y0, "tiles": t, "cells": 16, "terrain": m.truth_cells(16).tolist()})
    (out / "truth.json").write_text(json.dumps({"classes": TERRAIN_CLASSES, "mosaics": truth}))
    print(f"wrote {args.mosaics} mosaics under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
