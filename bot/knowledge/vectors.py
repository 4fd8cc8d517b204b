"""The cache of phrasing vectors, kept next to the knowledge base so that start-up needs no
minute of embedding.

The file maps a hash of each embedded text to its vector (float16, which changes no ranking)
and names the model that made them. At load, texts the file lacks (a phrasing added since) are
embedded then and there, so an edit to the knowledge base costs its own few phrasings at start
rather than a stale answer; a test keeps the shipped file complete. Refresh it after editing
the knowledge base with ``python -m bot.knowledge``.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.knowledge import _semantic

if TYPE_CHECKING:
    from numpy.typing import NDArray

FILE_NAME = "faq_vectors.npz"

log = logging.getLogger(__name__)


def text_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class VectorCache:
    """Vectors by text, read from (and written to) one ``.npz`` file."""

    def __init__(self, vectors: dict[int, NDArray[np.float32]] | None = None) -> None:
        self._vectors = vectors or {}
        self.embedded = 0
        """How many texts the last :meth:`vectors` call had to embed."""

    @classmethod
    def read(cls, path: Path) -> VectorCache:
        """The cache in ``path``; empty when it is missing, unreadable or made by another
        model."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["model"]) != _semantic.model_name():
                    log.warning("event=faq_vectors_other_model path=%s", path)
                    return cls()
                keys, vectors = data["keys"], data["vectors"].astype(np.float32)
        except FileNotFoundError:
            return cls()
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            log.warning("event=faq_vectors_unreadable path=%s error=%s", path,
                        type(error).__name__)
            return cls()
        return cls({int(key): vector for key, vector in zip(keys, vectors, strict=True)})

    def vectors(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One row per text, embedding (and remembering) those the cache lacks."""
        keys = [text_key(text) for text in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True)
                                     if k not in self._vectors))
        self.embedded = len(missing)
        if missing:
            for text, vector in zip(missing, _semantic.embed(missing), strict=True):
                self._vectors[text_key(text)] = vector
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys])

    def write(self, path: Path, keep: Sequence[str]) -> None:
        """Save the vectors of ``keep`` (the texts in use) to ``path``."""
        keys = sorted({text_key(text) for text in keep})
        vectors = np.stack([self._vectors[key] for key in keys]).astype(np.float16)
        np.savez_compressed(path, model=np.array(_semantic.model_name()),
                            keys=np.array(keys, dtype=np.uint64), vectors=vectors)


def main(argv: Sequence[str] | None = None) -> int:
    """Embed what the shipped cache lacks and rewrite it without what is no longer used."""
    from bot.knowledge import KnowledgeBase
    from bot.paths import LOCALES_DIR

    del argv
    path = LOCALES_DIR / FILE_NAME
    kb = KnowledgeBase.load()  # embeds what the file lacks
    texts = kb.embedded_texts()
    kb.vectors.write(path, texts)
    print(f"{path}: {len(set(texts))} texts, {kb.vectors.embedded} embedded now")
    return 0
