"""Torch against ONNX int8 embedding of the same generated chunks, in one process, interleaved:

    PYTHONPATH=. python benchmarks/embedders.py [--chunks 256] [--rounds 2]
"""

import argparse
import random
import time

from rag import bench
from rag.chunking import chunk_document
from rag.embedder import load_embedder
from rag.types import Document


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--chunks", type=int, default=256)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    torch, onnx = load_embedder("all-MiniLM-L6-v2"), load_embedder("all-MiniLM-L6-v2", "onnx-int8")
    rng, vocab, texts = random.Random(0), bench.vocabulary(), []
    while len(texts) < args.chunks:
        doc = Document("generated", bench.document(rng, vocab, 32))
        texts += [c.text for c in chunk_document(doc, 160, 32, torch.count_tokens)]
    texts = texts[:args.chunks]
    for round_ in range(args.rounds):
        for name, embedder in (("torch", torch), ("onnx-int8", onnx)):
            started = time.perf_counter()
            embedder.embed_documents(texts)
            print(f"round {round_}: {name} {len(texts) / (time.perf_counter() - started):.1f} chunks/s", flush=True)


if __name__ == "__main__":
    main()
