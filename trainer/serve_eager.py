#!/usr/bin/env python3
"""The study project's way of serving a landscape, kept as the benchmark's peer to beat:
PyTorch eager on the CPU, the same encoder and generator weights, per request, no cache.

GET /landscape?z=Z&x=X&y=Y fetches the tile's bytes from --tiles (Groundview's cached tile
endpoint, so both sides start from a cached tile), preprocesses it with PIL exactly as the
export contract says, runs encoder -> generator and answers a PNG. Prints 'listening PORT'.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundview.gan import CondGenerator, tile_noise  # noqa: E402
from groundview.models import Encoder, Generator, SmallResNet  # noqa: E402
from groundview.onnx_import import load_folded_onnx  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", default="models")
    p.add_argument("--tiles", required=True, help="base URL of /tiles/satellite")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    manifest = json.loads((Path(args.models) / "manifest.json").read_text())
    enc_spec, gen_spec = manifest["models"]["encoder"], manifest["models"]["generator"]
    d = gen_spec["latentDim"]
    models = Path(args.models)
    enc = Encoder(d)
    enc.load_state_dict(torch.load(models / "torch" / "encoder.pt", map_location="cpu"))
    conditional = "inputs" in gen_spec            # terrain, latent and per-tile noise (groundview/gan.py)
    if conditional:
        gen = CondGenerator(widths=tuple(gen_spec["metrics"]["training"]["gWidths"]))
        gen.res, gen.alpha = gen_spec.get("trainedResolution", 128), gen_spec.get("fadeIn", 1.0)
        t_spec = manifest["models"]["terrainClassifier"]
        if t_spec["input"] != enc_spec["input"]:
            raise SystemExit("serve_eager: the terrain classifier and the encoder take different inputs; not supported")
        terrain = load_folded_onnx(SmallResNet(len(t_spec["classes"])), models / t_spec.get("floatFile", t_spec["file"]), t_spec["input"]["size"][0]).eval()
    else:
        gen = Generator(d)
    gen.load_state_dict(torch.load(models / "torch" / "generator.pt", map_location="cpu"))
    enc.eval(); gen.eval()
    size = enc_spec["input"]["size"][0]
    mean = np.array(enc_spec["input"]["mean"], dtype=np.float32)
    std = np.array(enc_spec["input"]["std"], dtype=np.float32)

    def landscape(x: torch.Tensor, z: int, tx: int, ty: int) -> torch.Tensor:
        """The same three steps as the service: terrain probabilities, latent, generator."""
        lat = enc(x)
        if not conditional:
            return gen(lat)[0]
        # The terrain classifier and the encoder share one input spec in the shipped models.
        p = torch.softmax(terrain(x), 1)
        noise = torch.from_numpy(tile_noise(gen_spec["noiseSeed"], z, tx, ty, gen_spec["noiseDim"])).unsqueeze(0)
        return gen(p, lat, noise)[0]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            q = parse_qs(urlparse(self.path).query)
            try:
                z, x, y = (int(q[k][0]) for k in ("z", "x", "y"))
                with urllib.request.urlopen(f"{args.tiles}/{z}/{x}/{y}") as r:
                    im = Image.open(io.BytesIO(r.read())).convert("RGB")
                w, h = im.size
                s = min(w, h)
                im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((size, size), Image.BILINEAR)
                arr = (np.asarray(im, dtype=np.float32) / 255 - mean) / std
                with torch.no_grad():
                    img = landscape(torch.from_numpy(arr.transpose(2, 0, 1)).unsqueeze(0), z, x, y)
                rgb = ((img.permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
                buf = io.BytesIO()
                Image.fromarray(rgb).save(buf, format="PNG")
                body = buf.getvalue()
                self.send_response(200)
                self.send_header("content-type", "image/png")
            except Exception as e:  # noqa: BLE001 - the peer reports any failure as a 500
                body = str(e).encode()
                self.send_response(500)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    HTTPServer.protocol_version = "HTTP/1.1"
    server = HTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
