#!/usr/bin/env python3
"""Post-training int8 quantization of the exported terrain classifier (QDQ format), for the cold
terrain-map path: onnxruntime fuses each DequantizeLinear -> Conv -> QuantizeLinear into an int8
QLinearConv, which on a CPU with AVX-512 VNNI costs a fraction of the float convolution.

    npm run build    # the Node side reads dist/
    /usr/bin/python3 trainer/quantize_terrain.py --install models

(--out FILE instead of --install writes and measures the int8 model without touching models/.)

What it does, with nothing but python3-onnx and onnxruntime-node (PyPI's onnxruntime quantizer
is not installable here):
1. writes a copy of the float model whose activations are extra outputs, and runs it in
   onnxruntime-node (scripts/terrain-onnx-stats.mjs calibrate) on RSSCN7 *training* scenes,
   preprocessed as the service does: per activation min/max and percentiles;
2. builds the QDQ model: per Conv, its input activation uint8 (asymmetric, the calibrated
   range), weights int8 per output channel (symmetric), bias int32 (scale = input scale x weight
   scale), and its output quantized where a Conv or ReLU output feeds further convolutions; the
   two logits convolutions, the linear head and the softmaxes stay float;
3. evaluates float and int8 side by side on the validation split (scripts/terrain-onnx-stats.mjs
   evaluate): top-1 of each, top-1 agreement, grid-cell agreement; written to OUT.json;
4. with --install MODELS: writes MODELS/terrainClassifier.int8.onnx and its golden pair (the
   golden input, onnxruntime-node's int8 outputs), points the manifest's terrainClassifier.file at
   it (floatFile keeps the float model, which the trainer's PyTorch tools load), records the
   measures under terrainClassifier.quantization, gives the model set a new version, and measures
   the terrain grid through the running service on held-out mosaics (float before, int8 after:
   trainer/make_mosaic_tiles.py + scripts/measure-terrain-grid.mjs; --mosaics 0 skips it).

Calibration never sees the validation split (trainer/groundview/data.py: split_of).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import tempfile
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.common import TERRAIN_CLASSES  # noqa: E402
from groundview.data import IMAGE_EXTS, split_of  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
STATS = REPO / "scripts" / "terrain-onnx-stats.mjs"


def scene_list(data: Path, split: str, per_class: int | None) -> list[dict]:
    out = []
    for ci, cls in enumerate(TERRAIN_CLASSES):
        files = sorted(p for p in (data / "rsscn7" / cls).iterdir() if p.suffix.lower() in IMAGE_EXTS)
        files = [p for p in files if split_of(str(p.relative_to(data))) == split]
        if per_class is not None:
            # spread over the class, not its first files
            step = max(1, len(files) // per_class)
            files = files[::step][:per_class]
        out += [{"path": str(p), "label": ci} for p in files]
    return out


def consumers(graph) -> dict[str, list]:
    c: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            c.setdefault(i, []).append(n)
    return c


def quantized_tensors(model) -> tuple[list[str], set[str]]:
    """(activations to quantize, convs to leave float). A conv's input is quantized; its output
    too unless it is logits: a conv whose output reaches no other conv and no pooling (through
    ReLU, Add, Concat, Resize) stays float."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    cons = consumers(g)
    acts: list[str] = []
    float_convs: set[str] = set()

    def feeds_conv(t: str, depth: int = 0) -> bool:
        for n in cons.get(t, []):
            if n.op_type in ("Conv", "GlobalAveragePool"):
                return True
            if n.op_type in ("Relu", "Add", "Concat", "Resize") and depth < 4 and feeds_conv(n.output[0], depth + 1):
                return True
        return False

    for n in g.node:
        if n.op_type != "Conv":
            continue
        x = n.input[0]
        y = n.output[0]
        if not feeds_conv(y):
            float_convs.add(n.name)
            continue
        if x not in inits and x not in acts:
            acts.append(x)
        nexts = cons.get(y, [])
        # Conv -> ReLU: quantize after the ReLU (onnxruntime drops a ReLU before a zero-point-0 uint8 Q)
        out = nexts[0].output[0] if len(nexts) == 1 and nexts[0].op_type == "Relu" else y
        if out not in acts:
            acts.append(out)
    return acts, float_convs


def with_outputs(model, names: list[str]):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in names:
        if n not in have:
            m.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    return m


def act_qparams(s: dict, how: str) -> tuple[float, int]:
    lo, hi = (s["min"], s["max"]) if how == "minmax" else (s["p0001"], s["p9999"])
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = int(round(-lo / scale))
    return float(scale), max(0, min(255, zp))


def build_qdq(model, ranges: dict, how: str):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    acts, float_convs = quantized_tensors(m)
    init = {t.name: t for t in g.initializer}
    new_inits: list = []
    new_nodes: list = []
    rename: dict[str, str] = {}
    for t in acts:
        scale, zp = act_qparams(ranges[t], how)
        s_name, z_name = f"{t}_scale", f"{t}_zp"
        new_inits += [numpy_helper.from_array(np.array(scale, np.float32), s_name),
                      numpy_helper.from_array(np.array(zp, np.uint8), z_name)]
        q, dq = f"{t}_q", f"{t}_dq"
        new_nodes.append((t, [helper.make_node("QuantizeLinear", [t, s_name, z_name], [q], name=f"{t}_Q"),
                              helper.make_node("DequantizeLinear", [q, s_name, z_name], [dq], name=f"{t}_DQ")]))
        rename[t] = dq
    act_scale = {t: act_qparams(ranges[t], how)[0] for t in acts}
    # every consumer of a quantized tensor reads its dequantized copy (graph outputs keep the float one)
    for n in g.node:
        for i, name in enumerate(n.input):
            if name in rename:
                n.input[i] = rename[name]
    # weights and biases of the quantized convs
    dropped = set()

    def constant_dq(name: str, q: np.ndarray, scale: np.ndarray) -> str:
        """Replaces initializer `name` by its quantized values `q` (per output channel) and a DequantizeLinear; returns its output."""
        new_inits.extend([numpy_helper.from_array(q, f"{name}_q"), numpy_helper.from_array(scale, f"{name}_scale"),
                          numpy_helper.from_array(np.zeros(len(scale), q.dtype), f"{name}_zp")])
        new_nodes.append((None, [helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_scale", f"{name}_zp"],
                                                  [f"{name}_dq"], name=f"{name}_DQ", axis=0)]))
        dropped.add(name)
        return f"{name}_dq"
    for n in g.node:
        if n.op_type != "Conv" or n.name in float_convs:
            continue
        x_dq = n.input[0]
        x = x_dq[:-3] if x_dq.endswith("_dq") else None
        if x is None or x not in act_scale:
            raise SystemExit(f"conv {n.name}: input {x_dq} is not quantized")
        w = numpy_helper.to_array(init[n.input[1]]).astype(np.float32)
        oc = w.shape[0]
        amax = np.abs(w.reshape(oc, -1)).max(axis=1)
        w_scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        wq = np.clip(np.round(w / w_scale.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
        n.input[1] = constant_dq(n.input[1], wq, w_scale)
        if len(n.input) > 2 and n.input[2]:
            b = numpy_helper.to_array(init[n.input[2]]).astype(np.float64)
            b_scale = (w_scale.astype(np.float64) * act_scale[x]).astype(np.float32)
            n.input[2] = constant_dq(n.input[2], np.round(b / b_scale).astype(np.int32), b_scale)
    # topological order: weight DQs first, each activation's Q/DQ right after its producer
    producers = {o: i for i, n in enumerate(g.node) for o in n.output}
    after: dict[int, list] = {}
    head: list = []
    graph_inputs = {i.name for i in g.input}
    for t, nodes in new_nodes:
        if t is None or t in graph_inputs:
            head += nodes
        else:
            after.setdefault(producers[t], []).extend(nodes)
    ordered = list(head)
    for i, n in enumerate(g.node):
        ordered.append(n)
        ordered += after.get(i, [])
    del g.node[:]
    g.node.extend(ordered)
    kept = [t for t in g.initializer if t.name not in dropped]
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    onnx.checker.check_model(m)
    return m, {"activations": len(acts), "floatConvs": sorted(float_convs)}


def node_stats(*args: str) -> None:
    r = subprocess.run(["node", str(STATS), *args], cwd=REPO, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"terrain-onnx-stats failed:\n{r.stderr[-3000:]}")
    if r.stdout.strip():
        print(r.stdout.strip(), flush=True)


ORDER = ["terrainClassifier", "sceneClassifier", "generator", "encoder"]


def mosaic_iou(models: Path, mosaics: Path) -> dict:
    """Terrain grid mean IoU through the running service with the model set in `models`."""
    r = subprocess.run(["node", str(REPO / "scripts" / "measure-terrain-grid.mjs"), str(mosaics)], cwd=REPO,
                       capture_output=True, text=True, env={**os.environ, "MODELS_DIR": str(models)})
    if r.returncode:
        raise SystemExit(f"measure-terrain-grid failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def install(models: Path, qmodel, report: dict, data: Path, n_mosaics: int) -> None:
    manifest_path = models / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    spec = manifest["models"]["terrainClassifier"]
    mosaics = None
    if n_mosaics:
        tmp = Path(tempfile.mkdtemp(prefix="gv-quant-mosaics-"))
        r = subprocess.run([sys.executable, str(REPO / "trainer" / "make_mosaic_tiles.py"), "--out", str(tmp),
                            "--mosaics", str(n_mosaics), "--data", str(data)], cwd=REPO, capture_output=True, text=True)
        if r.returncode:
            raise SystemExit(f"make_mosaic_tiles failed:\n{r.stderr[-3000:]}")
        mosaics = tmp
        report["mosaics"] = {"float": mosaic_iou(models, mosaics)}
    target = models / "terrainClassifier.int8.onnx"
    onnx.save(qmodel, target)
    golden = "golden/terrainClassifier.int8.json"
    node_stats("golden", str(target), str(models / spec["golden"]), str(models / golden))
    previous = manifest["version"]
    spec["floatFile"] = spec["file"]
    spec["file"] = target.name
    spec["floatGolden"] = spec["golden"]
    spec["golden"] = golden
    spec["bytes"] = target.stat().st_size
    hasher = hashlib.sha256()
    for name in ORDER:
        hasher.update((models / manifest["models"][name]["file"]).read_bytes())
    manifest["version"] = f"{dt.date.today().isoformat()}-{hasher.hexdigest()[:8]}"
    manifest["totalBytes"] = sum(manifest["models"][n]["bytes"] for n in ORDER)
    manifest.setdefault("history", []).append({"version": previous, "replacedBy": manifest["version"],
                                              "change": "terrain classifier quantized to int8 (QDQ), the float model kept as floatFile"})
    spec["quantization"] = report
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    if mosaics:
        report["mosaics"]["int8"] = mosaic_iou(models, mosaics)
        spec["quantization"] = report
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"[quantize] installed {target.name}; manifest version {previous} -> {manifest['version']}", flush=True)


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(REPO / "models" / "terrainClassifier.onnx"))
    p.add_argument("--manifest", default=str(REPO / "models" / "manifest.json"))
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--out", help="the int8 model (.onnx); OUT.json beside it gets the measures")
    p.add_argument("--install", metavar="MODELS", help="quantize MODELS' float terrain classifier and serve the int8 one from MODELS")
    p.add_argument("--mosaics", type=int, default=24, help="held-out mosaics measured through the service with --install (0: none)")
    p.add_argument("--calib-per-class", type=int, default=48, help="training scenes per terrain for calibration")
    p.add_argument("--ranges", choices=["minmax", "percentile"], default="minmax")
    args = p.parse_args(argv)
    if bool(args.out) == bool(args.install):
        p.error("give --out FILE or --install MODELS")
    if args.install:
        models = Path(args.install)
        tspec = json.loads((models / "manifest.json").read_text())["models"]["terrainClassifier"]
        if tspec.get("floatFile"):
            raise SystemExit(f"{models}: the terrain classifier is already quantized ({tspec['file']} from {tspec['floatFile']})")
        args.model, args.manifest = str(models / tspec["file"]), str(models / "manifest.json")
        out = Path(tempfile.mkdtemp(prefix="gv-quant-")) / "terrainClassifier.int8.onnx"
    else:
        out = Path(args.out)
    work = out.parent
    work.mkdir(parents=True, exist_ok=True)
    data = Path(args.data)
    spec = json.loads(Path(args.manifest).read_text())["models"]["terrainClassifier"]["input"]
    model = onnx.load(args.model)
    acts, _ = quantized_tensors(model)

    calib = work / "calibration-list.json"
    calib.write_text(json.dumps({"input": spec, "images": scene_list(data, "train", args.calib_per_class)}))
    calib_model = work / "calibration-model.onnx"
    onnx.save(with_outputs(model, acts), calib_model)
    ranges_path = work / "ranges.json"
    node_stats("calibrate", str(calib_model), str(calib), str(ranges_path))
    ranges = json.loads(ranges_path.read_text())

    qmodel, info = build_qdq(model, ranges, args.ranges)
    onnx.save(qmodel, out)
    val = work / "validation-list.json"
    val.write_text(json.dumps({"input": spec, "images": scene_list(data, "val", None)}))
    eval_path = out.with_suffix(".eval.json")
    node_stats("evaluate", str(out), args.model, str(val), str(eval_path))
    summary = json.loads(eval_path.read_text())["summary"]
    n_calib = len(json.loads(calib.read_text())["images"])
    report = {"scheme": "QDQ: activations uint8 per tensor (calibrated " + args.ranges + "), weights int8 per output channel "
              "(symmetric), biases int32; the logits convolutions, the linear head and the softmaxes in float",
              "calibration": f"{n_calib} RSSCN7 training scenes (sha1 split), preprocessed as the service does",
              "ranges": args.ranges, **info,
              "validation": {**summary, "note": "RSSCN7 validation split through onnxruntime-node and the service's preprocessing: "
                             "top1 = int8, top1Other = the float model"}}
    if not args.install:
        out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    else:
        install(Path(args.install), qmodel, report, data, args.mosaics)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
