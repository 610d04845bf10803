"""Benchmark: what the knowledge base (CEREBRO's RAG) spends on one large text document:
cutting a 50 MB text into chunks with the default cap and without it (time and the
process's peak memory, against the file's size), and embedding chunks of the default
size (chunks/s, one ONNX thread as the worker runs it).

    python bench/chunk_documents.py
    python bench/chunk_documents.py --megabytes 10 --embed 32

The text is written to a temporary file first; the report goes to stdout. Peak memory
is the process's maximum resident set (it includes Python, the tokenizer and numpy), so
read it against the figure taken right before chunking.
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

from arqium.infra.chunking import Chunking, document_chunks
from arqium.infra.embeddings import FLOAT_MODEL, shared_embedder
from arqium.infra.settings import Settings

SENTENCE = ("The delivery van leaves the depot at seven and reaches the harbour "
            "before the ferry, unless the bridge is closed for repairs. ")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_text(path: Path, megabytes: int) -> None:
    line = (SENTENCE * 10 + "\n").encode()
    with path.open("wb") as out:
        for _ in range(megabytes * 1024 * 1024 // len(line)):
            out.write(line)


def chunked(path: Path, chunking: Chunking) -> tuple[int, float, list[str]]:
    started = time.perf_counter()
    texts = [chunk.text for chunk in document_chunks(path, "text/plain", chunking)]
    return len(texts), time.perf_counter() - started, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--embed", type=int, default=64, help="chunks to embed")
    args = parser.parse_args()
    settings = Settings()
    capped = Chunking(settings.rag_chunk_tokens, settings.rag_chunk_overlap,
                      settings.rag_max_chunks_per_file)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.txt"
        write_text(path, args.megabytes)
        size_mb = path.stat().st_size / 1e6
        count, seconds, texts = chunked(path, capped)
        print(f"{size_mb:.1f} MB text, capped at {capped.max_chunks} chunks: "
              f"{count} chunks in {seconds:.2f} s")
        before = peak_mb()
        whole = Chunking(capped.tokens, capped.overlap, max_chunks=10**9)
        count, seconds, _ = chunked(path, whole)
        print(f"uncapped: {count} chunks in {seconds:.1f} s "
              f"({size_mb / seconds:.1f} MB/s); peak memory {peak_mb():.0f} MB (before: {before:.0f} MB)")
    embedder = shared_embedder(FLOAT_MODEL)
    embedder.embed(texts[:8])  # loads and warms the model
    started = time.perf_counter()
    embedder.embed(texts[:args.embed])
    rate = min(args.embed, len(texts)) / (time.perf_counter() - started)
    print(f"embedding: {rate:.1f} chunks/s of {capped.tokens} tokens; the capped file's "
          f"{capped.max_chunks} chunks take about {capped.max_chunks / rate:.0f} s")


if __name__ == "__main__":
    main()
