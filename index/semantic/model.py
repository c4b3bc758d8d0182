"""A sentence-embedding model run by onnxruntime, its text cut into word pieces by
Hugging Face ``tokenizers``: the one module of docqa that imports them, and only when the
semantic layer is turned on (``DOCQA_SEMANTIC``), so a plain install never needs them.

A model is a folder (or a Hugging Face repository, downloaded once into the Hugging Face
cache) holding an ONNX graph and its ``tokenizer.json``. The graph takes ``input_ids``
and, when it declares them, ``attention_mask`` and ``token_type_ids``; its first output is
either one vector per token (mean-pooled over the attention mask, as sentence-transformers
pools all-MiniLM-L6-v2) or one vector per text. Vectors are scaled to unit length, so a
dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.semantic import DEFAULT_MODEL
from index.semantic.errors import SemanticError
# the graph docqa takes from a Hugging Face repository: all-MiniLM-L6-v2's own ONNX export
# with weights and activations quantized to 8 bits (23 MB; the float one is 90 MB and
# gives the same rankings on our sets; see the README)
HUB_MODEL_FILE = "onnx/model_quint8_avx2.onnx"
# in a local folder, the first of these that exists (else its only .onnx file)
LOCAL_MODEL_FILES = ("model.onnx", HUB_MODEL_FILE, "onnx/model.onnx")
TOKENIZER_FILE = "tokenizer.json"
# all-MiniLM-L6-v2 was trained on pieces of up to 256 word pieces (sentence-transformers'
# max_seq_length); a folder's sentence_bert_config.json may say otherwise
MAX_TOKENS = 256
# texts embedded in one call of the model: memory grows with batch x longest text (a
# batch of 32 x 256 pieces peaked at 1.7 GB), and a small batch pads less
BATCH = 16


@dataclass(frozen=True)
class ModelFiles:
    """Where a model's graph and tokenizer are, and what to call it."""

    name: str
    model: Path
    tokenizer: Path
    max_tokens: int = MAX_TOKENS


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def locate_model(spec: str, download: Callable[[str, str], Path] | None = None) -> ModelFiles:
    """The files of the model ``spec`` names: a folder, an ``.onnx`` file (with its
    ``tokenizer.json`` beside it) or a Hugging Face repository id (downloaded with
    ``huggingface_hub`` into its cache the first time). Raises SemanticError saying what
    is missing and what to do."""
    path = Path(spec).expanduser()
    if path.is_dir():
        model = next((path / f for f in LOCAL_MODEL_FILES if (path / f).is_file()), None)
        if model is None:
            found = sorted(path.rglob("*.onnx"))
            if len(found) != 1:
                raise SemanticError(
                    f"the semantic model folder {path} holds "
                    f"{'no' if not found else len(found)} .onnx files: put one model.onnx "
                    "(with its tokenizer.json) there"
                )
            model = found[0]
        return _files(path.name or str(path), model, path)
    # a repository id is OWNER/NAME; anything else that is not there is a missing path
    hub_id = spec.count("/") == 1 and not spec.startswith((".", "~")) and "\\" not in spec
    if not hub_id or path.suffix == ".onnx":
        if not path.is_file():
            raise SemanticError(
                f"the semantic model {spec} does not exist: set DOCQA_SEMANTIC_MODEL to a "
                f"folder holding model.onnx and tokenizer.json, or to a Hugging Face "
                f"repository such as {DEFAULT_MODEL}"
            )
        return _files(path.stem, path, path.parent)
    fetch = download or _hub_download
    model = fetch(spec, HUB_MODEL_FILE)
    tokenizer = fetch(spec, TOKENIZER_FILE)
    return ModelFiles(spec, model, tokenizer, _max_tokens(tokenizer.parent))


def _files(name: str, model: Path, folder: Path) -> ModelFiles:
    for place in (model.parent, folder, model.parent.parent):
        tokenizer = place / TOKENIZER_FILE
        if tokenizer.is_file():
            return ModelFiles(name, model, tokenizer, _max_tokens(folder))
    raise SemanticError(
        f"the semantic model {model} has no {TOKENIZER_FILE} beside it: copy the model's "
        f"{TOKENIZER_FILE} into {folder}"
    )


def _max_tokens(folder: Path) -> int:
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        value = int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return MAX_TOKENS
    return value if value > 0 else MAX_TOKENS


def _hub_download(repo: str, filename: str) -> Path:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise SemanticError(_NOT_INSTALLED) from None
    try:
        return Path(hf_hub_download(repo, filename))
    except Exception as exc:  # the hub's errors (offline, 404, proxy) have no common base
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise SemanticError(
            f"cannot get the semantic model {repo} ({filename}) from Hugging Face: {reason}; "
            "connect once to download it, or set DOCQA_SEMANTIC_MODEL to a folder holding "
            "model.onnx and tokenizer.json"
        ) from None


_NOT_INSTALLED = (
    "the semantic layer needs its extra: pip install 'docqa[semantic]' "
    "(or turn it off: DOCQA_SEMANTIC=false)"
)


class Embedder:
    """Embeds texts with one ONNX model; ``fingerprint`` names the model and the hash of
    its files, so vectors made by another model are never mixed with these."""

    def __init__(self, files: ModelFiles, threads: int | None = None) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError:
            raise SemanticError(_NOT_INSTALLED) from None
        self.files = files
        self.name = files.name
        try:
            tokenizer = Tokenizer.from_file(str(files.tokenizer))
        except Exception as exc:  # tokenizers raises a bare Exception for a bad file
            raise SemanticError(f"cannot read {files.tokenizer}: {exc}") from None
        tokenizer.enable_truncation(max_length=files.max_tokens)
        tokenizer.no_padding()  # each batch is padded to its own longest text, below
        self.tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3  # no warnings about the graph on stderr
        try:
            self.session = onnxruntime.InferenceSession(
                str(files.model), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own exception types are not importable
            reason = " ".join(str(exc).split())[:200]
            raise SemanticError(f"cannot load the semantic model {files.model}: {reason}") from None
        self.inputs = {i.name for i in self.session.get_inputs()}
        if "input_ids" not in self.inputs:
            raise SemanticError(
                f"the semantic model {files.model} takes no input_ids: it is not a text "
                "embedding model"
            )
        digest = hashlib.sha256()
        for path in (files.model, files.tokenizer):
            digest.update(_sha256(path).encode())
        self.checksum = digest.hexdigest()[:16]
        self.fingerprint = f"{self.name}:{self.checksum}:{files.max_tokens}"
        self.dim = 0
        self.dim = int(self.embed(["dimension"]).shape[1])

    def embed(self, texts: Sequence[str], batch: int = BATCH) -> np.ndarray:
        """One unit-length float32 vector per text, in order."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        # similar lengths together: a batch is padded to its longest text
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out: np.ndarray | None = None
        for lo in range(0, len(order), batch):
            picked = order[lo : lo + batch]
            vectors = self._run([encodings[i] for i in picked])
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[picked] = vectors
        return out if out is not None else np.zeros((0, self.dim), dtype=np.float32)

    def _run(self, encodings: Sequence) -> np.ndarray:  # type: ignore[type-arg]
        width = max(1, max(len(e.ids) for e in encodings))
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = e.attention_mask
            types[row, :n] = e.type_ids
        feed = {"input_ids": ids}
        if "attention_mask" in self.inputs:
            feed["attention_mask"] = mask
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = types
        output = np.asarray(self.session.run(None, feed)[0], dtype=np.float32)
        if output.ndim == 3:  # one vector per token: their mean over the real tokens
            weights = mask[:, :, None].astype(np.float32)
            output = (output * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        elif output.ndim != 2:
            raise SemanticError(
                f"the semantic model {self.files.model} gives {output.ndim}-dimensional "
                "output: expected a vector per token or per text"
            )
        norms = np.linalg.norm(output, axis=1, keepdims=True)
        return output / np.maximum(norms, 1e-12)


def load_embedder(spec: str, download: Callable[[str, str], Path] | None = None) -> Embedder:
    """The embedder of the model ``spec`` names (see ``locate_model``)."""
    return Embedder(locate_model(spec, download))


def embed_all(
    embedder: Embedder,
    texts: Iterable[str],
    track: Callable[[Iterable[str]], Iterable[str]] = lambda items: items,
    chunk: int = BATCH * 4,
) -> np.ndarray:
    """Embed many texts ``chunk`` at a time; ``track`` may wrap them in a progress bar."""
    parts = []
    pending: list[str] = []
    for text in track(texts):
        pending.append(text)
        if len(pending) >= chunk:
            parts.append(embedder.embed(pending))
            pending = []
    if pending:
        parts.append(embedder.embed(pending))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32)
