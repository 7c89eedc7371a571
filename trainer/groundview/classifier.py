"""The training loop shared by the terrain and scene classifiers."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .common import Progress
from .data import ImageSet, augment, normalise, resize, to_tensor
from .metrics import classification_report


@dataclass
class ClassifierConfig:
    name: str
    classes: list[str]
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    epochs: int = 30
    batch: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    aug_scale: tuple[float, float] = (0.5, 1.0)
    rot90: bool = True
    vflip: bool = True
    colour: float = 0.2
    grey: float = 0.0                          # probability of a greyscale training image
    aux_weight: float = 0.0                    # weight of the auxiliary fine-label loss (aux_labels)
    max_steps_per_epoch: int | None = None     # --dry-run
    on_epoch_end: list = field(default_factory=list)


def predict(model, images: np.ndarray, cfg: ClassifierConfig, device, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities and embeddings for uint8 NHWC images resized to the input size."""
    model.eval()
    probs, embs = [], []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = normalise(resize(to_tensor(images[i:i + batch], device), cfg.input_size), cfg.mean, cfg.std)
            e = model.embed(x)
            probs.append(torch.softmax(model.head(e), 1).cpu().numpy())
            embs.append(e.cpu().numpy())
    return np.concatenate(probs), np.concatenate(embs)


def train_classifier(model, train: ImageSet, val: ImageSet, cfg: ClassifierConfig, device,
                     gen: torch.Generator, weights: torch.Tensor | None = None,
                     aux_labels: np.ndarray | None = None) -> dict:
    """Trains with AdamW + one-cycle schedule and batched augmentation; keeps the best-val weights.

    With `aux_labels` (finer labels per training image, e.g. the source class behind a terrain
    class) a second linear head on the same embedding learns them too, weighted by
    cfg.aux_weight; it shapes the embedding during training and is not part of the model.
    """
    model.to(device)
    params = list(model.parameters())
    aux_head = None
    if aux_labels is not None and cfg.aux_weight > 0:
        aux_head = torch.nn.Linear(model.embed_dim, int(aux_labels.max()) + 1).to(device)
        params += list(aux_head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train) / cfg.batch))
    if cfg.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps_per_epoch)
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=0.15)
    w = weights.to(device) if weights is not None else None
    prog = Progress(cfg.name, cfg.epochs)
    best, best_state, history = -1.0, None, []
    for epoch in range(cfg.epochs):
        model.train()
        perm = torch.randperm(len(train), generator=gen).numpy()
        t0, run_loss, seen = time.time(), 0.0, 0
        for step in range(steps_per_epoch):
            idx = np.sort(perm[step * cfg.batch:(step + 1) * cfg.batch])
            if len(idx) < 2:
                continue
            x = to_tensor(train.images[idx], device)
            y = torch.from_numpy(train.labels[idx]).to(device)
            x = augment(x, cfg.input_size, gen, scale=cfg.aug_scale, rot90=cfg.rot90, vflip=cfg.vflip, colour=cfg.colour,
                        grey=cfg.grey)
            e = model.drop(model.embed(normalise(x, cfg.mean, cfg.std)))
            loss = F.cross_entropy(model.head(e), y, weight=w, label_smoothing=cfg.label_smoothing)
            if aux_head is not None:
                ya = torch.from_numpy(aux_labels[idx]).to(device)
                loss = loss + cfg.aux_weight * F.cross_entropy(aux_head(e), ya, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            run_loss += float(loss) * len(idx)
            seen += len(idx)
        probs, _ = predict(model, val.images, cfg, device)
        rep = classification_report(val.labels, probs.argmax(1), cfg.classes)
        history.append({"epoch": epoch + 1, "loss": run_loss / max(seen, 1), "valTop1": rep["top1"],
                        "valMacroF1": rep["macroF1"], "seconds": time.time() - t0})
        prog.epoch(epoch, loss=run_loss / max(seen, 1), val_top1=rep["top1"], val_macroF1=rep["macroF1"])
        if rep["top1"] >= best:
            best = rep["top1"]
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        for hook in cfg.on_epoch_end:
            hook(epoch, model)
    model.load_state_dict(best_state)
    return {"history": history, "bestValTop1": best}
