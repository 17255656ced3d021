#!/usr/bin/python3
"""The reference PyTorch MxD forward pass and training step, timed on this machine, for the ratios in docs/PERFORMANCE.md.

The forward is written the way the reference computes it (james-oldfield/MxD,
transcoders/sae_training/sparse_autoencoder.py, SparseAutoencoder.forward/encode/decode/condition):
a dense encoder, a dense gate over all N experts, torch.topk, a scatter of the K values into a dense
N-vector per token, and a dense W_cond product over N. Inference only (no autograd, no loss).

Runs with Debian's /usr/bin/python3 and python3-torch; needs nothing else (safetensors files are read
and written here with numpy). Debian's torch runs its matrix products on whatever libblas.so.3 points
at: with libopenblas0-pthread installed that is OpenBLAS, otherwise the reference BLAS at a few
GFLOPS, which would make every ratio meaningless. `blas` prints what is in use and how fast it is.

The training step (`train`) is the body of the reference's training loop (train_sae_on_language_model.py)
for an MxD transcoder with TopK, no ghost grads, norm_dec on, as it runs every step: decoder-norm of the
columns of W_cond, scheduler.step(), zero_grad, the forward above with autograd, the normalised loss (plus
the reference's constant -1 TopK term), the per-step firing statistics over the dense [T, N] codes
(did_fire, n_forward_passes_since_fired, act_freq_scores), backward, the removal of the gradient parallel to
the decoder directions, AdamW (weight decay 0). Wandb logging, checkpoints and evaluation are left out.

Subcommands:
  bench    forward tokens/s at a named shape on random weights (warm-up, repetitions, median)
  train    training-step tokens/s at a named shape, batch 1024 by default (warm-up, repetitions, median)
  make     writes a random MxD model directory (mxd.safetensors + cfg.json) and an input file x [T, I]
  forward  file to file, like `./mxd forward`: reads x [T, I], writes y [T, O], codes.index and
           codes.value [T, K]; time the whole process with `time`
  blas     sgemm GFLOPS at 1024^2 and 2048^2 and the OpenBLAS core in use
"""

import argparse
import json
import math
import os
import re
import statistics
import struct
import sys
import time
import warnings

# Shapes of the benchmarks (same as jmh ForwardBenchmark): the paper's GPT-2 layer and a small one.
SHAPES = {
    "gpt2": dict(d_in=768, d_sae=3072, d_out=768, n_experts=21490, topk=32, tokens=2048),
    "small": dict(d_in=128, d_sae=512, d_out=128, n_experts=2048, topk=16, tokens=512),
}

DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2), "I32": ("<i4", 4), "I64": ("<i8", 8)}


def main():
    args = parse_args()
    # OpenBLAS reads its environment when the library loads, so this must precede `import torch`.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    inherited = os.environ.get("OPENBLAS_CORETYPE")
    if args.openblas_core == "auto":
        if cpu_has_avx512() and inherited != "SkylakeX":
            os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
            print("OPENBLAS_CORETYPE=SkylakeX" + (f" (overriding {inherited} from the environment;"
                  " --openblas-core env keeps it)" if inherited else ""), file=sys.stderr)
    elif args.openblas_core != "env":
        os.environ["OPENBLAS_CORETYPE"] = args.openblas_core
    if args.malloc == "keep":
        keep_freed_memory()
    global torch, F, np
    import numpy as np
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    args.run(args)


def cpu_has_avx512():
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            return " avx512f" in fh.read()
    except OSError:
        return False


def keep_freed_memory():
    """Makes glibc malloc keep freed memory instead of returning it to the kernel. Every reference forward
    allocates several [T, N] float32 temporaries (176 MB each at the GPT-2 shape); by default glibc maps
    each with mmap and unmaps it on free, so the next call faults every page in again, which on a virtual
    machine can cost as much as the gate's matrix product. With mmap off and trimming off, the
    second call reuses the first call's pages."""
    import ctypes
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_max = -1, -4
    if not (libc.mallopt(m_mmap_max, 0) and libc.mallopt(m_trim_threshold, 2 ** 31 - 1)):
        sys.exit("mallopt failed; run with --malloc system")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="torch and OpenBLAS threads (default 2)")
    p.add_argument("--openblas-core", default="auto",
                   help="auto (default): OPENBLAS_CORETYPE=SkylakeX on a CPU with AVX-512, so the baseline is"
                        " OpenBLAS at its best (its AVX2 Haswell kernels, which it picks for AVX-512 AMD cores or"
                        " where the environment says so, run at about half the speed); env: leave"
                        " OPENBLAS_CORETYPE as inherited; or a core name")
    p.add_argument("--malloc", choices=("keep", "system"), default="keep",
                   help="keep (default): glibc keeps freed memory, so the [T, N] temporaries of one call are"
                        " reused by the next; system: glibc's defaults (mmap and unmap each, faulting every page)")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("bench", help="forward tokens/s at a shape, random weights")
    b.add_argument("--shape", choices=sorted(SHAPES), default="gpt2")
    b.add_argument("--tokens", type=int, help="T per forward call (default: the shape's)")
    b.add_argument("--warmup", type=int, default=2)
    b.add_argument("--reps", type=int, default=7, help="timed repetitions, at least (default 7)")
    b.add_argument("--min-seconds", type=float, default=3.0,
                   help="keep repeating until the timed repetitions add up to this (default 3)")
    b.add_argument("--seed", type=int, default=1)
    b.set_defaults(run=cmd_bench)

    t = sub.add_parser("train", help="training-step tokens/s at a shape, random weights and batches")
    t.add_argument("--shape", choices=sorted(SHAPES), default="gpt2")
    t.add_argument("--batch", type=int, default=1024, help="tokens per step (default 1024)")
    t.add_argument("--activation", default="gelu", help="mlp_activation_fn (default gelu, GPT-2's MLP)")
    t.add_argument("--warmup", type=int, default=2)
    t.add_argument("--reps", type=int, default=5, help="timed steps, at least (default 5)")
    t.add_argument("--min-seconds", type=float, default=8.0,
                   help="keep stepping until the timed steps add up to this (default 8)")
    t.add_argument("--seed", type=int, default=1)
    t.set_defaults(run=cmd_train)

    m = sub.add_parser("make", help="write a random model directory and an input file")
    m.add_argument("--model", required=True, help="directory to write mxd.safetensors and cfg.json into")
    m.add_argument("--input", required=True, help="file to write x [T, I] into")
    m.add_argument("--shape", choices=sorted(SHAPES), default="gpt2")
    m.add_argument("--tokens", type=int, default=65536)
    m.add_argument("--seed", type=int, default=1)
    m.set_defaults(run=cmd_make)

    f = sub.add_parser("forward", help="file to file forward, like ./mxd forward")
    f.add_argument("--model", required=True, help="directory with mxd.safetensors + cfg.json, or a .safetensors")
    f.add_argument("--input", required=True, help="safetensors file holding x [T, I]")
    f.add_argument("--output", required=True, help="safetensors file to write y, codes.index, codes.value")
    f.add_argument("--batch", type=int, default=2048,
                   help="tokens per forward call (the dense [batch, N] gate is what bounds memory)")
    f.set_defaults(run=cmd_forward)

    g = sub.add_parser("blas", help="sgemm GFLOPS and the OpenBLAS core in use")
    g.set_defaults(run=cmd_blas)
    args = p.parse_args()
    for name in ("threads", "tokens", "reps", "batch"):
        if getattr(args, name, None) is not None and getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if getattr(args, "warmup", 0) < 0:
        p.error("--warmup must be >= 0")
    return args


# ---------------------------------------------------------------------------------------------- model

def activation(name):
    return {
        "relu": F.relu,
        "gelu": F.gelu,
        "gelu_pytorch_tanh": lambda h: F.gelu(h, approximate="tanh"),
        "gelu_tanh": lambda h: F.gelu(h, approximate="tanh"),
        "sigmoid": torch.sigmoid,
        "silu": F.silu,
    }[name]


def reference_forward(p, cfg, x, dense_codes=False):
    """y [T, O] and the codes (indices, values) [T, K], computed as the reference's forward does; with
    dense_codes, y and the dense [T, N] expert_coefs (what the reference's training loop reads)."""
    hidden_pre = torch.einsum("...i,ih->...h", x, p["W_enc"]) + p["b_enc"]
    z = activation(cfg["mlp_activation_fn"])(hidden_pre)
    if cfg.get("use_glu", False):
        z = F.linear(x, p["W_glu.weight"], p["W_glu.bias"]) * z
    base = torch.einsum("...h,ho->...o", z, p["W_dec"])

    experts_pre = torch.einsum("...i,ni->...n", x, p["gate"]) + p["gate_bias"]
    experts_post = torch.relu(experts_pre)
    top = torch.topk(experts_post, k=cfg["topk"], dim=-1)
    expert_coefs = torch.zeros_like(experts_post)
    expert_coefs.scatter_(-1, top.indices, top.values)
    expert_out = torch.einsum("on,...n->...o", p["W_cond"], expert_coefs)

    y = base * expert_out
    if cfg.get("use_skip", False):
        y = y + F.linear(x, p["W_skip.weight"])
    if dense_codes:
        return y + p["b_dec_out"], expert_coefs
    return y + p["b_dec_out"], top.indices, top.values


def random_model(cfg, seed):
    """Random F32 weights with the reference's names and shapes: U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    W_cond ~ U(-1, 1) with unit rows of C = W_cond^T (the reference's norm_dec init). W_dec is random
    too (the reference zeroes it at init, which would make every output equal b_dec_out)."""
    gen = torch.Generator().manual_seed(seed)
    i, h, o, n = cfg["d_in"], cfg["d_sae"], cfg["d_out"], cfg["n_experts"]

    def uniform(shape, bound):
        return (torch.rand(shape, generator=gen) * 2 - 1) * bound

    p = {
        "W_enc": uniform((i, h), i ** -0.5),
        "b_enc": uniform((h,), i ** -0.5),
        "W_dec": uniform((h, o), h ** -0.5),
        "gate": uniform((n, i), i ** -0.5),
        "gate_bias": uniform((n,), i ** -0.5),
    }
    w_cond = uniform((o, n), 1.0)
    p["W_cond"] = w_cond / w_cond.norm(dim=0, keepdim=True)
    if cfg.get("use_glu", False):
        p["W_glu.weight"] = uniform((h, i), i ** -0.5)
        p["W_glu.bias"] = uniform((h,), i ** -0.5)
    if cfg.get("use_skip", False):
        p["W_skip.weight"] = uniform((o, i), i ** -0.5)
    p["b_dec_out"] = uniform((o,), h ** -0.5)
    p["b_dec"] = torch.zeros(i)
    return p


def shape_config(name):
    s = SHAPES[name]
    return dict(d_in=s["d_in"], d_sae=s["d_sae"], d_out=s["d_out"], n_experts=s["n_experts"], topk=s["topk"],
                mlp_activation_fn="relu", use_conditional=True, is_transcoder=True, use_glu=False, use_skip=False)


def check_config(cfg, source):
    for field in ("d_in", "d_sae", "n_experts", "topk"):
        if not isinstance(cfg.get(field), int) or cfg[field] < 1:
            sys.exit(f"{source}: field {field} = {cfg.get(field)!r} must be an integer >= 1")
    if not cfg.get("use_conditional", False):
        sys.exit(f"{source}: use_conditional is not true; this script times MxD layers only")
    if cfg["topk"] > cfg["n_experts"]:
        sys.exit(f"{source}: topk = {cfg['topk']} is larger than n_experts = {cfg['n_experts']}")
    cfg.setdefault("d_out", cfg["d_in"])
    if cfg["d_out"] is None:
        cfg["d_out"] = cfg["d_in"]
    cfg.setdefault("mlp_activation_fn", "relu")
    if cfg["mlp_activation_fn"] not in ("relu", "gelu", "gelu_pytorch_tanh", "gelu_tanh", "sigmoid", "silu"):
        sys.exit(f"{source}: unknown mlp_activation_fn {cfg['mlp_activation_fn']!r}")
    return cfg


def check_tensors(p, cfg, source):
    i, h, o, n = cfg["d_in"], cfg["d_sae"], cfg["d_out"], cfg["n_experts"]
    want = {"W_enc": (i, h), "b_enc": (h,), "W_dec": (h, o), "gate": (n, i), "gate_bias": (n,),
            "W_cond": (o, n), "b_dec_out": (o,)}
    if cfg.get("use_glu", False):
        want.update({"W_glu.weight": (h, i), "W_glu.bias": (h,)})
    if cfg.get("use_skip", False):
        want["W_skip.weight"] = (o, i)
    for name, shape in want.items():
        if name not in p:
            sys.exit(f"{source}: missing tensor '{name}' (shape {list(shape)})")
        if tuple(p[name].shape) != shape:
            sys.exit(f"{source}: tensor '{name}' has shape {list(p[name].shape)}, the config needs {list(shape)}")


# -------------------------------------------------------------------------------------- safetensors

def read_safetensors(path):
    """(tensors as float32/int torch tensors, __metadata__) of a safetensors file: an 8-byte little-endian
    header length, a JSON header {name: {dtype, shape, data_offsets}}, then the data."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        if size < 8:
            sys.exit(f"{path}: {size} bytes, too short for a safetensors header")
        (header_len,) = struct.unpack("<Q", fh.read(8))
        if header_len > size - 8:
            sys.exit(f"{path}: header length {header_len} runs past the end of the file ({size} bytes)")
        header = json.loads(fh.read(header_len).decode("utf-8"))
    base = 8 + header_len
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            sys.exit(f"{path}: tensor '{name}' has dtype {dtype}, supported: {sorted(DTYPES)}")
        np_dtype, width = DTYPES[dtype]
        count = 1
        for d in shape:
            count *= d
        if end - begin != count * width or base + end > size:
            sys.exit(f"{path}: tensor '{name}' {dtype}{shape} has bytes [{begin}, {end}) which do not fit")
        a = np.fromfile(path, dtype=np_dtype, count=count, offset=base + begin).reshape(shape)
        if dtype == "BF16":  # the upper half of a float32
            a = (a.astype(np.uint32) << 16).view(np.float32)
        elif dtype == "F16":
            a = a.astype(np.float32)
        out[name] = torch.from_numpy(a)
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """Writes tensors (name -> contiguous numpy array of float32/int32/int64) atomically."""
    names = {np.dtype("<f4"): "F32", np.dtype("<i4"): "I32", np.dtype("<i8"): "I64"}
    header, offset = {}, 0
    for name, a in tensors.items():
        nbytes = a.size * a.itemsize
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # keeps the data 8-byte aligned for memory-mapping readers
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for a in tensors.values():
            fh.write(np.ascontiguousarray(a).tobytes())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_model(path):
    """A model path as ./mxd reads it: a directory with mxd.safetensors + cfg.json, or a .safetensors
    file (config from cfg.json beside it, else from __metadata__.cfg)."""
    if not os.path.exists(path):
        sys.exit(f"{path}: no such file or directory")
    if os.path.isdir(path):
        weights, cfg_file = os.path.join(path, "mxd.safetensors"), os.path.join(path, "cfg.json")
    elif path.endswith(".safetensors"):
        weights, cfg_file = path, os.path.join(os.path.dirname(path) or ".", "cfg.json")
    else:
        sys.exit(f"{path}: not a model directory or a .safetensors file (convert a .pt with ./mxd convert)")
    if not os.path.exists(weights):
        sys.exit(f"{weights}: no such file")
    p, meta = read_safetensors(weights)
    if os.path.exists(cfg_file):
        with open(cfg_file, encoding="utf-8") as fh:
            cfg = json.load(fh)
    elif "cfg" in meta:
        cfg = json.loads(meta["cfg"])
    else:
        sys.exit(f"{weights}: no cfg.json beside it and no __metadata__.cfg inside")
    cfg = check_config(cfg, cfg_file)
    check_tensors(p, cfg, weights)
    return {k: v.float().contiguous() for k, v in p.items()}, cfg


# -------------------------------------------------------------------------------------- subcommands

def cmd_bench(args):
    cfg = shape_config(args.shape)
    tokens = args.tokens or SHAPES[args.shape]["tokens"]
    p = random_model(cfg, args.seed)
    x = torch.randn(tokens, cfg["d_in"], generator=torch.Generator().manual_seed(args.seed + 1))
    print(f"reference MxD forward, shape {args.shape}: I={cfg['d_in']} H={cfg['d_sae']} O={cfg['d_out']} "
          f"N={cfg['n_experts']} K={cfg['topk']} relu, T={tokens}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, malloc {args.malloc}, {blas_summary()}")
    times = []
    with torch.inference_mode():
        for _ in range(args.warmup):
            reference_forward(p, cfg, x)
        while len(times) < args.reps or (sum(times) < args.min_seconds and len(times) < 1000):
            start = time.perf_counter()
            reference_forward(p, cfg, x)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    if len(times) <= 20:
        print("seconds per forward: " + " ".join(f"{t:.4f}" for t in times))
    print(f"tokens/s: median {tokens / median:,.0f}  (best {tokens / min(times):,.0f}, "
          f"worst {tokens / max(times):,.0f}, {len(times)} repetitions after {args.warmup} warm-up)")


def cmd_train(args):
    cfg = shape_config(args.shape)
    cfg["mlp_activation_fn"] = args.activation
    cfg = check_config(cfg, "--activation")
    tokens, n = args.batch, cfg["n_experts"]
    p = {k: v.clone().requires_grad_(k != "b_dec") for k, v in random_model(cfg, args.seed).items()}
    params = [v for k, v in p.items() if k != "b_dec"]
    optimizer = torch.optim.AdamW(params, lr=4e-4, weight_decay=0.0)
    # the reference steps its scheduler before the optimiser, which torch warns about once
    warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()` before"))
    # constantwithwarmup, as the reference's optim.py builds it
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda s: min(1.0, (s + 1) / 5000))
    gen = torch.Generator().manual_seed(args.seed + 1)
    batches = [(torch.randn(tokens, cfg["d_in"], generator=gen), torch.randn(tokens, cfg["d_out"], generator=gen))
               for _ in range(4)]
    act_freq_scores = torch.zeros(n)
    n_forward_passes_since_fired = torch.zeros(n)
    print(f"reference MxD training step, shape {args.shape}: I={cfg['d_in']} H={cfg['d_sae']} O={cfg['d_out']} "
          f"N={n} K={cfg['topk']} {cfg['mlp_activation_fn']}, batch {tokens} tokens; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, malloc {args.malloc}, {blas_summary()}")

    def step(x, t):
        with torch.no_grad():  # set_decoder_norm_to_unit_norm
            p["W_cond"].data /= torch.norm(p["W_cond"].data, dim=0, keepdim=True)
        scheduler.step()
        optimizer.zero_grad()
        y, expert_coefs = reference_forward(p, cfg, x, dense_codes=True)
        mse_loss = (torch.pow(y - t, 2) / (t ** 2).sum(dim=-1, keepdim=True).sqrt()).mean()
        loss = mse_loss + torch.tensor(-1.0)
        did_fire = ((expert_coefs > 0).float().sum(-2) > 0)
        n_forward_passes_since_fired.add_(1)
        n_forward_passes_since_fired[did_fire] = 0
        with torch.no_grad():
            act_freq_scores.add_((expert_coefs.abs() > 0).float().sum(0))
        loss.backward()
        with torch.no_grad():  # remove_gradient_parallel_to_decoder_directions
            parallel = torch.einsum("on,on->n", p["W_cond"].grad, p["W_cond"].data)
            p["W_cond"].grad -= torch.einsum("n,on->on", parallel, p["W_cond"].data)
        optimizer.step()
        return loss.item()

    times, cpu = [], []
    for i in range(args.warmup):
        step(*batches[i % len(batches)])
    while len(times) < args.reps or (sum(times) < args.min_seconds and len(times) < 1000):
        x, t = batches[len(times) % len(batches)]
        start, start_cpu = time.perf_counter(), time.process_time()
        loss = step(x, t)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if not math.isfinite(loss):
            sys.exit(f"the loss of step {len(times)} is {loss}")
    median = statistics.median(times)
    if len(times) <= 20:
        print("seconds per step: " + " ".join(f"{t:.3f}" for t in times))
    print(f"tokens/s: median {tokens / median:,.0f}  (best {tokens / min(times):,.0f}, "
          f"worst {tokens / max(times):,.0f}, {len(times)} steps after {args.warmup} warm-up); "
          f"process CPU per step: median {statistics.median(cpu):.3f} s")


def cmd_make(args):
    cfg = shape_config(args.shape)
    p = random_model(cfg, args.seed)
    os.makedirs(args.model, exist_ok=True)
    cfg_text = json.dumps(cfg, indent=2)
    write_safetensors(os.path.join(args.model, "mxd.safetensors"), {k: v.numpy() for k, v in p.items()},
                      {"cfg": cfg_text})
    with open(os.path.join(args.model, "cfg.json"), "w", encoding="utf-8") as fh:
        fh.write(cfg_text + "\n")
    gen = torch.Generator().manual_seed(args.seed + 1)
    x = torch.randn(args.tokens, cfg["d_in"], generator=gen)
    write_safetensors(args.input, {"x": x.numpy()})
    print(f"wrote {args.model} ({args.shape}: N={cfg['n_experts']}, K={cfg['topk']}) and {args.input} "
          f"(x [{args.tokens}, {cfg['d_in']}])")


def cmd_forward(args):
    start = time.perf_counter()
    p, cfg = load_model(args.model)
    tensors, _ = read_safetensors(args.input)
    if "x" not in tensors:
        sys.exit(f"{args.input}: no tensor 'x' (has {sorted(tensors)})")
    x = tensors["x"].float()
    if x.dim() != 2 or x.shape[1] != cfg["d_in"]:
        sys.exit(f"{args.input}: x has shape {list(x.shape)}, the model needs [T, {cfg['d_in']}]")
    tokens, k = x.shape[0], cfg["topk"]
    y = np.empty((tokens, cfg["d_out"]), dtype=np.float32)
    index = np.empty((tokens, k), dtype=np.int32)
    value = np.empty((tokens, k), dtype=np.float32)
    loaded = time.perf_counter()
    with torch.inference_mode():
        for t0 in range(0, tokens, args.batch):
            t1 = min(tokens, t0 + args.batch)
            yb, ib, vb = reference_forward(p, cfg, x[t0:t1])
            y[t0:t1] = yb.numpy()
            index[t0:t1] = ib.numpy()
            value[t0:t1] = vb.numpy()
    computed = time.perf_counter()
    write_safetensors(args.output, {"y": y, "codes.index": index, "codes.value": value})
    done = time.perf_counter()
    print(f"forward {tokens} tokens: load {loaded - start:.2f} s, compute {computed - loaded:.2f} s "
          f"({tokens / (computed - loaded):,.0f} tokens/s), write {done - computed:.2f} s", file=sys.stderr)


def cmd_blas(args):
    print(blas_summary())
    for n in (1024, 2048):
        a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
        times = []
        for rep in range(12):
            start = time.perf_counter()
            torch.mm(a, b, out=c)
            if rep >= 2:
                times.append(time.perf_counter() - start)
        flops = 2.0 * n ** 3
        print(f"sgemm {n}^2: median {flops / statistics.median(times) / 1e9:.0f} GFLOPS, "
              f"best {flops / min(times) / 1e9:.0f} GFLOPS")


def blas_summary():
    """Which OpenBLAS (and core) torch's products run on, where torch has loaded it."""
    import ctypes
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
        mapped = {line.split()[-1] for line in fh if "blas" in line}
    openblas = sorted(m for m in mapped if "openblas" in m)
    if not openblas:
        return ("torch is not on OpenBLAS (mapped: " + (", ".join(sorted(mapped)) or "no BLAS")
                + "): install libopenblas0-pthread, the reference BLAS runs at a few GFLOPS")
    try:
        lib = ctypes.CDLL(openblas[0])
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode()
        text = f"{lib.openblas_get_config().decode().strip()}, core {core}"
    except (OSError, AttributeError):
        return "OpenBLAS " + openblas[0] + " (no version query)"
    if cpu_has_avx512() and core.lower() in ("haswell", "zen"):
        text += " (AVX2 kernels on an AVX-512 CPU: --openblas-core auto takes SkylakeX)"
    return text


if __name__ == "__main__":
    main()
