"""Shared plumbing for the training scripts: flags, seeding, devices, progress, JSON output."""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

TERRAIN_CLASSES = ["grass", "field", "industrial", "water", "forest", "residential", "parking"]
SCENE_CLASSES = ["forest", "field", "water", "urban", "road", "mountain", "snow_ice", "desert", "barren", "wetland"]


def base_parser(description: str) -> argparse.ArgumentParser:
    """Flags every training script takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", default=os.environ.get("GROUNDVIEW_DATA", "../shared/data"),
                   help="root of the shared data (rsscn7/, ground/)")
    p.add_argument("--runs", default="trainer/runs", help="where checkpoints and metrics are written")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=int(os.environ.get("TRAINER_THREADS", "1")),
                   help="CPU threads for torch")
    p.add_argument("--dry-run", action="store_true",
                   help="a few steps on tiny data to check the pipeline end to end")
    return p


def setup(args: argparse.Namespace) -> torch.device:
    """Seeds every RNG and picks the device."""
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, args.threads))
    if args.device == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        dev = args.device
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    return torch.device(dev)


class Progress:
    """Prints epoch, loss, metric and an estimate of the time left."""

    def __init__(self, name: str, total_epochs: int):
        self.name, self.total, self.t0 = name, total_epochs, time.time()

    def epoch(self, epoch: int, **values: float) -> None:
        done = epoch + 1
        elapsed = time.time() - self.t0
        left = elapsed / done * (self.total - done)
        parts = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
        print(f"[{self.name}] epoch {done}/{self.total} {parts} elapsed={elapsed:.0f}s left~{left:.0f}s", flush=True)


def write_json(path: Path | str, obj) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    tmp.replace(path)


def read_json(path: Path | str):
    return json.loads(Path(path).read_text())
