"""The app in front of llama.cpp's own llama-server with 4 slots (continuous batching): concurrent
streamed questions are answered side by side and each keeps its own passages. Needs the
llama-server binary, which is no Python package: build it with benchmarks/build_llama_server.sh
and set RAG_LLAMA_SERVER to it; without it the test is skipped."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import rag
from live_server import LiveServer
from llama_server import ENV, LlamaServer, SlotWatcher, find_binary
from rag.models import resolve_model
from rag.server import build_app
from test_api import sse_data

BINARY = find_binary()


@pytest.mark.slow
@pytest.mark.skipif(BINARY is None, reason=f"no llama-server binary: set {ENV} to one built with "
                                           f"benchmarks/build_llama_server.sh")
def test_four_concurrent_streams_through_llama_server_with_four_slots_complete_with_their_own_passages(
        real_settings, real_bot, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(4):
        (docs / f"locker-{i}.txt").write_text(f"Locker {i} belongs to the {['red', 'blue', 'green', 'gold'][i]} "
                                              f"team and holds crate number {1000 + i}.")
    server = LlamaServer(BINARY, resolve_model("smollm2-135m"), tmp_path / "llama-server.log", parallel=4,
                         ctx_per_slot=real_settings.n_ctx, n_threads=2)
    with server as url:
        bot = rag.Bot(real_settings.replace(index_dir=str(tmp_path / "index"), model=f"openai:{url}",
                                            openai_timeout=600.0), embedder=real_bot.embedder)
        bot.ingest([docs])

        def client(i: int) -> list:
            with httpx.Client(base_url=app, timeout=600) as http:
                r = http.post("/v1/chat/completions", json={
                    "stream": True, "messages": [{"role": "user", "content": f"Which crate does locker {i} hold?"}]})
                return sse_data(r.text)
        with LiveServer(build_app(bot)) as app, SlotWatcher(server, every=0.2) as watcher, \
                ThreadPoolExecutor(4) as pool:
            results = list(pool.map(client, range(4), timeout=900))
    for i, events in enumerate(results):
        assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "stop"
        assert not any("error" in e for e in events[:-1] if isinstance(e, dict))
        assert events[-2]["passages"][0]["name"] == f"locker-{i}.txt"  # its own document, not another's
    assert watcher.most >= 2, "llama-server never answered two questions at once"
