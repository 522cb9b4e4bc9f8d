"""Torch against ONNX int8 embedding of the same chunks, in one process, interleaved: chunks/s per
round, cosine of the int8 vectors to torch's, and the time to embed a query.

    PYTHONPATH=. python benchmarks/embedders.py [--docs .suites/papers/docs] [--chunks 255] [--rounds 3]

The chunks are cut (160 tokens, as an index's) from the first six files of --docs, shuffled with a
fixed seed; without --docs, from generated text."""

import argparse
import random
import time
from pathlib import Path

from rag import bench
from rag.chunking import chunk_document
from rag.embedder import load_embedder
from rag.types import Document


def chunks(docs: str | None, count: int, counter) -> list[str]:
    rng, texts = random.Random(0), []
    if docs:
        for f in sorted(Path(docs).glob("*.txt"))[:6]:
            texts += [c.text for c in chunk_document(Document(f.name, f.read_text()), 160, 32, counter)]
    else:
        vocab = bench.vocabulary()
        while len(texts) < count:
            texts += [c.text for c in chunk_document(Document("generated", bench.document(rng, vocab, 32)),
                                                     160, 32, counter)]
    rng.shuffle(texts)
    return texts[:count]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--docs")
    p.add_argument("--chunks", type=int, default=255)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    embedders = {"torch": load_embedder("all-MiniLM-L6-v2"), "onnx-int8": load_embedder("all-MiniLM-L6-v2", "onnx-int8")}
    texts = chunks(args.docs, args.chunks, embedders["torch"].count_tokens)
    vectors = {}
    for round_ in range(args.rounds):
        for name, embedder in embedders.items():
            started = time.perf_counter()
            vectors[name] = embedder.embed_documents(texts)
            print(f"round {round_}: {name} {len(texts) / (time.perf_counter() - started):.1f} chunks/s", flush=True)
    cosine = (vectors["torch"] * vectors["onnx-int8"]).sum(axis=1)
    print(f"{len(texts)} chunks; onnx-int8 cosine to torch: mean {cosine.mean():.4f}, min {cosine.min():.4f}")
    for name, embedder in embedders.items():
        started = time.perf_counter()
        for i in range(40):
            embedder.embed_query(f"How much will the company spend in {2000 + i}?")
        print(f"{name}: a query in {(time.perf_counter() - started) / 40 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
