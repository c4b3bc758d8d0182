"""A tiny embedding model the semantic tests build themselves (no network, no weights):
a word-level ``tokenizer.json`` made with ``tokenizers`` and an ONNX graph made with
``onnx`` that looks each word's vector up in a table (``Gather``) and zeroes the padding
(``attention_mask``), so the embedder's mean pooling gives a text the mean of its words'
vectors. Words of one group share a direction: "nuke" and "remove" mean the same to it,
as a real model would have them close.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

PAD, UNK = "[PAD]", "[UNK]"

# words with the same meaning, for the tests' documents and questions
GROUPS: tuple[tuple[str, ...], ...] = (
    ("remove", "delete", "nuke", "wipe", "erase", "removing"),
    ("environments", "environment", "venvs", "venv", "virtualenvs", "virtualenv"),
    ("telemetry", "tracking", "analytics", "metrics"),
    ("disable", "off", "stop", "disabling"),
    ("python", "interpreter"),
    ("version", "release", "versions"),
    ("cache", "caches", "cached"),
    ("timeout", "timeouts", "deadline"),
    ("install", "installing", "setup", "installation"),
    ("banana", "bananas", "fruit"),
)


def write_tiny_model(folder: Path, groups: Sequence[Sequence[str]] = GROUPS) -> Path:
    """Write ``model.onnx`` and ``tokenizer.json`` into ``folder``; returns it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel

    folder.mkdir(parents=True, exist_ok=True)
    words = [PAD, UNK] + [w for group in groups for w in group]
    vocab = {w: i for i, w in enumerate(words)}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token=UNK))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))

    dim = len(groups) + 1  # one direction per group, the last for words it does not know
    table = np.zeros((len(words), dim), dtype=np.float32)
    table[vocab[UNK], dim - 1] = 0.05  # faint: the known words of a text decide
    for g, group in enumerate(groups):
        for w in group:
            table[vocab[w], g] = 1.0
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["vectors"]),
            helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["mask_f", "axis"], ["mask_3d"]),
            helper.make_node("Mul", ["vectors", "mask_3d"], ["last_hidden_state"]),
        ],
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", dim])],
        initializer=[
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "axis"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime releases of the last years all read
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    return folder
