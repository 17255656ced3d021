"""An MxD / TC / STC layer in PyTorch with the reference's state-dict names and forward pass, plus a
small safetensors reader and writer (no `safetensors` package is needed).

The forward pass follows the reference's `SparseAutoencoder.forward` (james-oldfield/MxD,
transcoders/sae_training/sparse_autoencoder.py) for transcoders, i.e. DESIGN §1 of mxd:

    z    = act(x @ W_enc + b_enc)              (* W_glu(x) with GLU)
    MxD: y = (z @ W_dec) * (W_cond @ TopK(relu(x @ gate.T + gate_bias)))
    TC:  y = TopK(z) @ W_dec
    y    = y (+ W_skip(x)) + b_dec_out

Parameters are registered in the reference's order, so `state_dict()` lists the reference's keys in
the reference's order: W_enc, b_enc, W_dec, gate, gate_bias, W_cond, b_dec, b_dec_out, then the
submodules W_glu.weight, W_glu.bias, W_skip.weight.
"""

import json
import struct
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_pytorch_tanh": partial(F.gelu, approximate="tanh"),
    "gelu_tanh": partial(F.gelu, approximate="tanh"),
    "sigmoid": torch.sigmoid,
    "silu": F.silu,
}


class MxdTorch(nn.Module):
    """The layer a reference config (a dict with the reference's field names) describes."""

    def __init__(self, cfg, dtype=torch.float32):
        super().__init__()
        d_in = int(cfg["d_in"])
        d_sae = int(cfg["d_sae"])
        d_out = int(cfg.get("d_out") or d_in)
        self.conditional = bool(cfg.get("use_conditional", False))
        self.use_glu = bool(cfg.get("use_glu", False))
        self.use_skip = bool(cfg.get("use_skip", False))
        self.topk = int(cfg["topk"])
        self.act = ACTIVATIONS[cfg.get("mlp_activation_fn", "relu")]

        def param(*shape):
            return nn.Parameter(torch.zeros(*shape, dtype=dtype))

        self.W_enc = param(d_in, d_sae)
        self.b_enc = param(d_sae)
        self.W_dec = param(d_sae, d_out)
        if self.use_glu:
            self.W_glu = nn.Linear(d_in, d_sae, dtype=dtype)
        if self.use_skip:
            self.W_skip = nn.Linear(d_in, d_out, bias=False, dtype=dtype)
        if self.conditional:
            n = int(cfg["n_experts"])
            self.gate = param(n, d_in)
            self.gate_bias = param(n)
            self.W_cond = param(d_out, n)
        self.b_dec = param(d_in)
        self.b_dec_out = param(d_out)

    @staticmethod
    def _topk_dense(scores, k):
        top = torch.topk(scores, k=k, dim=-1)
        return torch.zeros_like(scores).scatter_(-1, top.indices, top.values)

    def forward(self, x):
        z = self.act(x @ self.W_enc + self.b_enc)
        if self.use_glu:
            z = self.W_glu(x) * z
        if self.conditional:
            a = self._topk_dense(torch.relu(x @ self.gate.T + self.gate_bias), self.topk)
            y = (z @ self.W_dec) * (a @ self.W_cond.T)
        else:
            y = self._topk_dense(z, self.topk) @ self.W_dec
        if self.use_skip:
            y = y + self.W_skip(x)
        return y + self.b_dec_out


# --- safetensors, written and read by hand (8-byte little-endian header length, JSON header, data) ---

_ST_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32,
}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


def _raw_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} (row-major, little-endian) with optional string metadata."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = _raw_bytes(t)
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """Returns ({name: tensor}, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = _ST_DTYPES[info["dtype"]]
        buf = bytearray(data[base + begin:base + end])
        t = torch.frombuffer(buf, dtype=dtype) if buf else torch.zeros(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
    return tensors, metadata
