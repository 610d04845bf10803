"""Benchmark: how many memories per second the embedder turns into vectors (issue 20's
"embeddings >= 500 per second on 2 cores with the same model").

    python bench/embeddings.py                     # 2,000 texts, 1 and 2 threads
    python bench/embeddings.py --texts 5000 --threads 2
    python bench/embeddings.py --precision float int8   # ARQIUM_EMBEDDING_PRECISION

The texts are the development conversations' turns (bench/retrieval_data), as a chat
memory stores them ("Speaker: text"), with one in ten made a long note of several turns
joined: memories are mostly short, some long. Each run embeds them in batches of
`--batch` (what the memory_embeddings worker is handed at a time) after one warm-up
batch, and prints texts/s and ms per text.
"""

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from arqium.infra.embeddings import Embedder, EmbeddingModel

DATA = Path(__file__).parent / "retrieval_data"


def memory_texts(count: int, seed: int = 7) -> list[str]:
    """`count` memory-like texts: turns, one in ten a long note of 5-15 turns."""
    turns = [f"{turn['speaker']}: {turn['text']}"
             for path in sorted(DATA.glob("*.json"))
             for session in json.loads(path.read_text())["sessions"]
             for turn in session["turns"]]
    rng = random.Random(seed)
    return [" ".join(rng.sample(turns, rng.randint(5, 15))) if rng.random() < 0.1
            else rng.choice(turns) for _ in range(count)]


def rate(embedder: Embedder, texts: list[str], batch: int) -> float:
    embedder.embed(texts[:batch])  # warm-up: first runs allocate
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        embedder.embed(texts[start:start + batch])
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500,
                        help="texts handed to the embedder at once")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="inferences at once to measure, one thread each")
    parser.add_argument("--precision", nargs="+", default=["float"],
                        choices=["float", "int8"], help="how the model computes")
    args = parser.parse_args()
    texts = memory_texts(args.texts)
    words = sum(len(text.split()) for text in texts) / len(texts)
    print(f"{len(texts)} texts, {words:.1f} words on average, batches of {args.batch}")
    with tempfile.TemporaryDirectory() as folder:  # where the int8 model is made
        for precision in args.precision:
            model = EmbeddingModel(precision, Path(folder))
            for threads in args.threads:
                per_second = rate(Embedder(threads=threads, model=model), texts, args.batch)
                print(f"{precision:>5}, threads {threads}: {per_second:7.1f} texts/s  "
                      f"{1000 / per_second:5.2f} ms/text")


if __name__ == "__main__":
    main()
