#!/usr/bin/env python3
"""PyTorch references for the mixer and the aggregation kernels, on the same card and the same model as the native
benchmark (bench/native/gpu_bench.cpp), and the comparison table.

Mixer: the bundle aff_gpu_bench saved (bundle.json + model.safetensors, LibTorch's names) is loaded into
torch.nn.TransformerEncoderLayer modules (eval, inference mode: PyTorch's fast path) and timed in fp32 and fp16 at
the same batch sizes with CUDA events. Our GPU outputs for the checked items are compared with PyTorch's layers run
in float64, which checks the kernel and the CPU reference against PyTorch's own definition of the layer.
Aggregation: GeM + whitening + L2 and top-n selection + gather + L2, as PyTorch ops."""
import argparse
import json
import os
import sys

from torch_search_reference import timed  # same directory


class Mixer:
    """The AFF dynamic mixer in PyTorch, from a bundle directory."""

    def __init__(self, torch, bundle_dir, device, dtype):
        from safetensors.torch import load_file
        nn = torch.nn
        meta = json.load(open(os.path.join(bundle_dir, "bundle.json")))
        tensors = load_file(os.path.join(bundle_dir, meta["tensors"]))
        enc = meta["encoder"]
        self.d, self.inputs = enc["dim"], meta["inputs"]
        self.proj = []
        for spec in self.inputs:
            name = spec["name"].replace(".", "_").replace("-", "_")
            lin = nn.Linear(spec["dim"], self.d)
            lin.weight.data = tensors[f"encoder.project_{name}.weight"]
            lin.bias.data = tensors[f"encoder.project_{name}.bias"]
            self.proj.append(lin.to(device, dtype).eval())
        self.fusion = tensors["encoder.fusion_token"].to(device, dtype)
        self.layers = []
        for c in range(enc["layers"]):
            layer = nn.TransformerEncoderLayer(self.d, enc["heads"], enc["ffn"], dropout=0.0, activation="gelu",
                                               batch_first=True)
            state = {k[len(f"encoder.layer{c}."):]: v for k, v in tensors.items()
                     if k.startswith(f"encoder.layer{c}.")}
            layer.load_state_dict(state)
            self.layers.append(layer.to(device, dtype).eval())

    def __call__(self, torch, features, padding):
        batch = features[0].shape[0]
        tokens = [self.fusion.expand(batch, 1, self.d)]
        masks = [torch.zeros(batch, 1, dtype=torch.bool, device=features[0].device)]
        for spec, lin, f, pad in zip(self.inputs, self.proj, features, padding):
            if spec["kind"] == "GLOBAL":
                tokens.append(lin(f).unsqueeze(1))
                masks.append(torch.zeros(batch, 1, dtype=torch.bool, device=f.device))
            else:
                tokens.append(lin(f))
                masks.append(pad)
        z, mask = torch.cat(tokens, 1), torch.cat(masks, 1)
        for layer in self.layers:
            z = layer(z, src_key_padding_mask=mask)
        return torch.nn.functional.normalize(z[:, 0], dim=-1)


def manual_mixer(torch, bundle_dir, feats, pads, gelu_tanh=False, eps=1e-5):
    """The mixer written out op by op in float64 (as native/src/mixer.cpp computes it), with switches for the two
    places where implementations commonly differ, to explain any gap to PyTorch's layer."""
    from safetensors.torch import load_file
    F = torch.nn.functional
    meta = json.load(open(os.path.join(bundle_dir, "bundle.json")))
    w = {k: v.to(feats[0].device, torch.float64) for k, v in load_file(os.path.join(bundle_dir, meta["tensors"])).items()}
    enc = meta["encoder"]
    d, heads = enc["dim"], enc["heads"]
    batch = feats[0].shape[0]
    tokens = [w["encoder.fusion_token"].expand(batch, 1, d)]
    masks = [torch.zeros(batch, 1, dtype=torch.bool, device=feats[0].device)]
    for spec, f, pad in zip(meta["inputs"], feats, pads):
        name = spec["name"].replace(".", "_").replace("-", "_")
        y = f @ w[f"encoder.project_{name}.weight"].T + w[f"encoder.project_{name}.bias"]
        tokens.append(y.unsqueeze(1) if spec["kind"] == "GLOBAL" else y)
        masks.append(torch.zeros(batch, 1, dtype=torch.bool, device=f.device) if pad is None else pad)
    z, mask = torch.cat(tokens, 1), torch.cat(masks, 1)
    hd = d // heads
    for c in range(enc["layers"]):
        p = f"encoder.layer{c}."
        qkv = z @ w[p + "self_attn.in_proj_weight"].T + w[p + "self_attn.in_proj_bias"]
        q, k, v = qkv.split(d, -1)
        q = q.view(batch, -1, heads, hd).transpose(1, 2)
        k = k.view(batch, -1, heads, hd).transpose(1, 2)
        v = v.view(batch, -1, heads, hd).transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) / hd ** 0.5
        s = s.masked_fill(mask[:, None, None, :], float("-inf"))
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(batch, -1, d)
        z = F.layer_norm(z + o @ w[p + "self_attn.out_proj.weight"].T + w[p + "self_attn.out_proj.bias"], (d,),
                         w[p + "norm1.weight"], w[p + "norm1.bias"], eps)
        h = F.gelu(z @ w[p + "linear1.weight"].T + w[p + "linear1.bias"], approximate="tanh" if gelu_tanh else "none")
        z = F.layer_norm(z + h @ w[p + "linear2.weight"].T + w[p + "linear2.bias"], (d,), w[p + "norm2.weight"],
                         w[p + "norm2.bias"], eps)
    return F.normalize(z[:, 0], dim=-1)


def semantics_check(torch, bundle, feats, pads, torch_layer_out, ours):
    import numpy as np

    def rel(a, b):
        return float(np.sqrt(((a - b) ** 2).sum(1) / (b ** 2).sum(1)).max())

    with torch.inference_mode():
        for tanh, eps in ((False, 1e-5), (True, 1e-5), (False, 1e-6)):
            m = manual_mixer(torch, bundle, feats, pads, tanh, eps).cpu().numpy()
            print(f"#   op-by-op float64 (gelu {'tanh' if tanh else 'erf'}, eps {eps}): vs ours {rel(ours, m):.2e}, "
                  f"vs PyTorch's layer {rel(torch_layer_out, m):.2e}")


def mixer_rows(torch, work, native_rows, repeats):
    dev = torch.device("cuda")
    bundle = os.path.join(work, "bundle")
    meta = json.load(open(os.path.join(bundle, "bundle.json")))
    rows = []
    # Check: our GPU outputs against PyTorch's layers in float64 on the checked items.
    import numpy as np
    out = np.fromfile(os.path.join(work, "mixer_out.f32"), dtype=np.float32)
    checked = out.size // meta["encoder"]["dim"]
    feats, pads = [], []
    for i, spec in enumerate(meta["inputs"]):
        t = 1 if spec["kind"] == "GLOBAL" else spec["maxLocal"]
        x = np.fromfile(os.path.join(work, f"mixer_in{i}.f32"), dtype=np.float32)
        shape = (checked, spec["dim"]) if t == 1 else (checked, t, spec["dim"])
        feats.append(torch.from_numpy(x.reshape(shape)).to(dev, torch.float64))
        pad = os.path.join(work, f"mixer_pad{i}.u8")
        pads.append(torch.from_numpy(np.fromfile(pad, dtype=np.uint8).reshape(checked, t) != 0).to(dev)
                    if os.path.exists(pad) else None)
    with torch.inference_mode():
        ref = Mixer(torch, bundle, dev, torch.float64)(torch, feats, pads).cpu().numpy()
    ours = out.reshape(checked, -1)
    per_item = np.sqrt(((ours - ref) ** 2).sum(1) / (ref ** 2).sum(1))
    rel = per_item.max()
    kept = [(~p).sum(1).cpu().numpy() for p in pads if p is not None]
    worst = int(per_item.argmax())
    print(f"# mixer: our GPU output vs PyTorch TransformerEncoderLayer (float64) on {checked} items: "
          f"max relative error {rel:.2e}, median {np.median(per_item):.2e}; worst item {worst} keeps "
          f"{[int(k[worst]) for k in kept]} local tokens")
    semantics_check(torch, bundle, feats, pads, ref, ours)
    for dtype, label in ((torch.float32, "fp32"), (torch.float16, "fp16")):
        model = Mixer(torch, bundle, dev, dtype)
        for native in (r for r in native_rows if r.get("precision", "fp32") == label):
            batch = native["batch"]
            fs, ps = [], []
            for spec in meta["inputs"]:
                t = 1 if spec["kind"] == "GLOBAL" else spec["maxLocal"]
                shape = (batch, spec["dim"]) if t == 1 else (batch, t, spec["dim"])
                fs.append(torch.rand(shape, device=dev, dtype=dtype) * 2 - 1)
                if t == 1:
                    ps.append(None)
                else:
                    keep = torch.randint(1, t + 1, (batch, 1), device=dev)
                    ps.append(torch.arange(t, device=dev).unsqueeze(0) >= keep)
            with torch.inference_mode():
                ms = timed(torch, lambda: model(torch, fs, ps), repeats)
            rows.append(dict(kernel="mixer", precision=label, batch=batch, torch_ms=ms, native_ms=native["ms"],
                             speedup=ms / native["ms"], check_rel_err=float(rel)))
    return rows


def aggregation_rows(torch, native, repeats):
    dev = torch.device("cuda")
    rows = []
    gem = next(r for r in native if r["kernel"] == "gem_whiten")
    x = torch.rand(gem["batch"], gem["channels"], gem["positions"], device=dev) * 3.5 - 0.5
    w = (torch.rand(gem["out_dim"], gem["channels"], device=dev) - 0.5) * 0.1

    def gem_whiten():
        pooled = x.clamp(min=1e-6).pow(3.0).mean(-1).pow(1.0 / 3.0)
        return torch.nn.functional.normalize(pooled @ w.T, dim=-1)

    ms = timed(torch, gem_whiten, repeats)
    rows.append(dict(kernel="gem_whiten", torch_ms=ms, native_ms=gem["ms"], speedup=ms / gem["ms"]))
    sel = next(r for r in native if r["kernel"] == "select_local")
    s = torch.rand(sel["batch"], sel["positions"], device=dev) * 5
    desc = torch.rand(sel["batch"], sel["positions"], sel["dim"], device=dev) * 2 - 1

    def select():
        idx = torch.topk(s, sel["n"], dim=1).indices
        picked = torch.gather(desc, 1, idx.unsqueeze(-1).expand(-1, -1, sel["dim"]))
        return idx, torch.nn.functional.normalize(picked, dim=-1)

    ms = timed(torch, select, repeats)
    rows.append(dict(kernel="select_local", torch_ms=ms, native_ms=sel["ms"], speedup=ms / sel["ms"]))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--native", required=True, help="aff_gpu_bench's JSON")
    parser.add_argument("--search", help="torch_search_reference.py's JSON, for the search comparison")
    parser.add_argument("--work", required=True, help="aff_gpu_bench's --work directory")
    parser.add_argument("--json", help="write the comparison here")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    import torch
    if not torch.cuda.is_available():
        print("no CUDA device: no reference numbers", file=sys.stderr)
        return 2
    native = json.load(open(args.native))
    rows = []
    if args.search:
        ref = json.load(open(args.search))
        for r in native["rows"]:
            if r["kernel"] != "search":
                continue
            t = next((x for x in ref["rows"] if (x["n"], x["d"], x["batch"], x["k"]) ==
                      (r["n"], r["d"], r["batch"], r["k"])), None)
            if t:
                rows.append(dict(kernel="search", case=f"N={r['n']} d={r['d']} batch={r['batch']} k={r['k']}",
                                 torch_ms=t["torch_ms"], native_ms=r["ms"], speedup=t["torch_ms"] / r["ms"],
                                 copy_fraction=r["copy_fraction"], torch_copy_fraction=t["copy_fraction"]))
    rows += mixer_rows(torch, args.work, [r for r in native["rows"] if r["kernel"] == "mixer"], args.repeats)
    rows += aggregation_rows(torch, native["rows"], args.repeats)
    print(f"\n# {native['device']}: ours vs PyTorch {torch.__version__} (CUDA events, medians)")
    print("| kernel | case | PyTorch ms | ours ms | speed-up | note |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        case = r.get("case") or (f"{r['precision']} batch {r['batch']}" if r["kernel"] == "mixer" else "")
        note = ""
        if "copy_fraction" in r:
            note = f"DB read at {r['copy_fraction']:.2f} of copy BW (PyTorch {r['torch_copy_fraction']:.2f})"
        if r["kernel"] == "mixer":
            note = f"both {r['precision']}"
        print(f"| {r['kernel']} | {case} | {r['torch_ms']:.3f} | {r['native_ms']:.3f} | {r['speedup']:.2f}x | {note} |")
    if args.json:
        json.dump(dict(device=native["device"], torch=torch.__version__, rows=rows), open(args.json, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
