#!/usr/bin/python3
"""The way back: loads an mxd checkpoint into a PyTorch module with the reference's state-dict names and
forward pass, and checks its output against an expected file.

    /usr/bin/python3 tools/interop/load_in_pytorch.py MODEL EXPECTED.safetensors

MODEL is a directory holding mxd.safetensors and cfg.json (DESIGN §4), or the .safetensors file itself
(the config then comes from a cfg.json beside it, else from the header's __metadata__["cfg"]).
EXPECTED holds x [T, I] and y [T, O] (F32 or F64), e.g. y computed by mxd for that x.

The weights are loaded with load_state_dict(strict=True) into MxdTorch (tools/interop/mxd_torch.py),
whose parameter names and shapes are those of the reference's SparseAutoencoder, so a missing or
misshapen tensor fails here as it would there. Extra tensors (mxd keeps unknown tensors of a checkpoint)
are listed and left out. The forward pass runs in float64 on the float32 weights
and is compared with y under DESIGN §6: |y - y64| <= 1e-5 * max|y64| + 1e-4 * |y64|.
It needs Debian's python3-torch (or any PyTorch); the safetensors files are read without the
`safetensors` package. Exit status 0 when everything matches.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mxd_torch import MxdTorch, read_safetensors  # noqa: E402


def load_model(path):
    weights_file = os.path.join(path, "mxd.safetensors") if os.path.isdir(path) else path
    tensors, metadata = read_safetensors(weights_file)
    cfg_file = os.path.join(os.path.dirname(weights_file), "cfg.json")
    if os.path.exists(cfg_file):
        with open(cfg_file) as f:
            cfg = json.load(f)
    elif "cfg" in metadata:
        cfg = json.loads(metadata["cfg"])
    else:
        raise SystemExit(f"{weights_file}: no cfg.json beside it and no __metadata__['cfg']")
    layer = MxdTorch(cfg)
    names = set(layer.state_dict())
    extra = sorted(k for k in tensors if k not in names)
    layer.load_state_dict({k: v for k, v in tensors.items() if k in names}, strict=True)
    if extra:
        print(f"kept by mxd but not part of the reference module, ignored: {extra}")
    return layer, cfg, tensors


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    layer, cfg, tensors = load_model(sys.argv[1])
    expected, _ = read_safetensors(sys.argv[2])
    x, y_expected = expected["x"], expected["y"].double()
    with torch.no_grad():
        y = layer.double()(x.double())
    if y.shape != y_expected.shape:
        raise SystemExit(f"output shape {tuple(y.shape)} != expected {tuple(y_expected.shape)}")
    err = (y - y_expected).abs()
    bound = 1e-5 * y_expected.abs().max() + 1e-4 * y_expected.abs()
    kind = "MxD" if cfg.get("use_conditional") else ("STC" if cfg.get("use_skip") else "TC")
    print(f"{sys.argv[1]}: {kind} d_in={cfg['d_in']} d_sae={cfg['d_sae']} topk={cfg['topk']}, "
          f"{len(layer.state_dict())} tensors loaded strictly; max |y - expected| = {err.max().item():.3g} "
          f"over {y.numel()} values")
    if not bool((err <= bound).all()):
        worst = int(torch.argmax(err - bound))
        raise SystemExit(f"MISMATCH at flat index {worst}: {y.flatten()[worst].item()} vs "
                         f"{y_expected.flatten()[worst].item()}")
    print("OK")


if __name__ == "__main__":
    main()
