"""The semantic layer (opt-in: ``DOCQA_SEMANTIC``, ``pip install 'docqa[semantic]'``): a small
local embedding model whose chunk vectors are fused with BM25.

``model`` runs the model (the only module that imports onnxruntime and tokenizers, when
an embedder is made); ``vectors`` holds the chunk vectors and the fusion, in numpy. The
saved index keeps the vectors per segment (``index.store.vectors``,
``index.store.embedding``). Importing this package imports no model runtime.
"""

from index.semantic.errors import SemanticError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

__all__ = ["DEFAULT_MODEL", "SemanticError"]
