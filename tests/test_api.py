"""The HTTP API of `rag serve`: OpenAI-compatible chat completions with sources, over real HTTP."""

import json
import os

import httpx
import pytest

import rag

from live_server import LiveServer
from rag.errors import ConfigError
from rag.server import build_app, is_loopback, parse_messages, serve


@pytest.fixture
def bot(make_bot, docs_dir):
    bot = make_bot(top_k=2, rewrite=False)
    bot.ingest([docs_dir])
    return bot


@pytest.fixture
def client(bot):
    from fastapi.testclient import TestClient
    with TestClient(build_app(bot)) as client:
        yield client


def sse_data(text: str) -> list:
    """The payloads of a server-sent event stream ('[DONE]' kept as a string)."""
    lines = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def test_models(client, bot):
    body = client.get("/v1/models").json()
    assert body["object"] == "list" and body["data"][0]["id"] == bot.settings.model


def test_completion_with_citations_and_history(client, fake_generator):
    fake_generator.queue("Bananas are yellow [1].")
    r = client.post("/v1/chat/completions", json={"model": "anything", "messages": [
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": "What colour are apples?"},
        {"role": "assistant", "content": "Apples are red [1]."},
        {"role": "user", "content": [{"type": "text", "text": "What colour are bananas?"}]},
    ]})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Bananas are yellow [1]."}
    assert body["choices"][0]["finish_reason"] == "stop" and body["refused"] is False
    (cite,) = body["citations"]
    assert cite["n"] == 1 and cite["name"] == "fruit.txt" and "Bananas are yellow" in cite["text"]
    assert body["passages"][0]["n"] == 1 and body["passages"][0]["name"] == "fruit.txt"
    sent = [m["content"] for m in fake_generator.seen[-1]]
    assert sent[1:3] == ["What colour are apples?", "Apples are red [1]."]
    assert "What colour are bananas?" in sent[-1] and "ignored" not in sent


def test_streaming_completion(client, fake_generator):
    fake_generator.queue("Mars has two moons [1]. The Moon orbits the Earth every 27 days [1].")
    with client.stream("POST", "/v1/chat/completions", json={
            "stream": True, "k": 1, "messages": [{"role": "user", "content": "How many moons does Mars have?"}]}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_data(r.read().decode())
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "Mars has two moons [1]. The Moon orbits the Earth every 27 days [1]."
    assert len(chunks) == 4  # the role, one piece per checked sentence, the end
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop" and final["text"] == text
    assert [c["name"] for c in final["citations"]] == ["space.md"] and len(final["passages"]) == 1


def test_streamed_pieces_join_to_the_final_text_when_citations_are_moved_or_dropped(client, fake_generator):
    # [1] is space.md and [2] fruit.txt: verification moves the first marker to [1] and drops [2] of the second
    fake_generator.queue("Mars has two moons [2]. The Moon orbits the Earth every 27 days [1][2]. Pigs fly [1].")
    body = {"stream": True, "messages": [{"role": "user", "content": "How many moons does Mars have?"}]}
    events = sse_data(client.post("/v1/chat/completions", json=body).text)
    streamed = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1])
    final = events[-2]
    assert streamed == final["text"] == "Mars has two moons [1]. The Moon orbits the Earth every 27 days [1]."
    assert final["replaced"] is False and [c["n"] for c in final["citations"]] == [1]
    fake_generator.queue("Mars has two moons [2]. The Moon orbits the Earth every 27 days [1][2]. Pigs fly [1].")
    plain = client.post("/v1/chat/completions", json={**body, "stream": False}).json()
    assert plain["choices"][0]["message"]["content"] == streamed


def test_a_streamed_answer_withdrawn_at_the_end_says_it_was_replaced(client, fake_generator):
    fake_generator.queue("Mars has two moons [1]. I could not find the answer in your documents.")
    body = {"stream": True, "messages": [{"role": "user", "content": "How many moons does Mars have?"}]}
    events = sse_data(client.post("/v1/chat/completions", json=body).text)
    final = events[-2]
    assert final["replaced"] is True and final["refused"] is True
    assert final["text"] == "I could not find the answer in your documents."


def test_refusal_is_flagged(client):
    body = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "Who won in 1998?"}]}).json()
    assert body["refused"] is True and body["citations"] == []
    assert body["refusal_stage"] in ("retrieve", "generate", "check") and body["refusal_reason"]
    assert body["choices"][0]["message"]["content"] == "I could not find the answer in your documents."


@pytest.mark.parametrize("body", [
    {},
    {"messages": []},
    {"messages": [{"role": "assistant", "content": "hi"}]},
    {"messages": [{"role": "user", "content": "  "}]},
    {"messages": ["hello"]},
    {"messages": [{"role": "user", "content": "q"}], "k": "many"},
])
def test_bad_requests_get_a_clear_400(client, body):
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("Bad request:")


def test_model_errors_are_messages_not_tracebacks(client, fake_generator, monkeypatch):
    from rag.errors import ModelError

    def broken(*args, **kwargs):
        raise ModelError("Cannot load model 'x': file missing")
        yield  # pragma: no cover
    monkeypatch.setattr(fake_generator, "stream", broken)
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "What colour are apples?"}]})
    assert r.status_code == 500 and r.json() == {
        "error": {"message": "Cannot load model 'x': file missing", "type": "server_error"}}
    r = client.post("/v1/chat/completions", json={"stream": True, "messages": [{"role": "user", "content": "What colour are apples?"}]})
    events = sse_data(r.text)
    assert events[-2]["error"]["message"] == "Cannot load model 'x': file missing" and events[-1] == "[DONE]"


def test_the_browser_chat_is_mounted_at_root(client):
    r = client.get("/")
    assert r.status_code == 200 and "<html" in r.text.lower()
    config = client.get("/config").json()
    assert config["title"] == "Ask your documents"
    assert config["max_file_size"] == 50 * 1024 * 1024  # settings.max_upload_mb


def test_uploads_larger_than_max_upload_mb_are_refused(make_bot):
    from fastapi.testclient import TestClient
    with TestClient(build_app(make_bot(max_upload_mb=1))) as client:
        big = client.post("/gradio_api/upload", files={"files": ("big.txt", b"x" * (1024 * 1024 + 1))})
        small = client.post("/gradio_api/upload", files={"files": ("small.txt", b"small")})
    assert big.status_code == 413 and small.status_code == 200


def test_parse_messages_pairs_history_and_keeps_the_last_turns():
    messages = []
    for i in range(4):
        messages += [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]
    question, history = parse_messages(messages + [{"role": "user", "content": " last "}])
    assert question == "last" and history == [("q2", "a2"), ("q3", "a3")]


def test_serve_refuses_a_remote_address_without_allow_remote(make_bot):
    bot = make_bot(host="0.0.0.0")
    with pytest.raises(ConfigError, match="--allow-remote"):
        serve(bot)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_gradio_client_api_keeps_working(bot, fake_generator):
    from gradio_client import Client
    fake_generator.queue("Cherries are small and dark red [1].")
    with LiveServer(build_app(bot)) as url:
        client = Client(url, verbose=False)
        chat, sources, box = client.predict("What are cherries like?", 2, api_name="/chat")
        client.close()
    assert chat[-1]["content"][0]["text"].startswith("Cherries are small and dark red")
    assert "<mark>" in sources and "fruit.txt" in sources and box == ""


def test_a_client_that_disconnects_mid_stream_frees_the_model(bot, fake_generator, monkeypatch):
    import threading
    import time
    lock, words = threading.Lock(), []

    def slow(messages, max_tokens=384, temperature=0.0):
        with lock:  # as the llama.cpp generator holds its lock while it writes
            for i in range(200):
                words.append(i)
                time.sleep(0.02)
                yield f"word{i} "
    monkeypatch.setattr(fake_generator, "stream", slow)
    body = {"stream": True, "messages": [{"role": "user", "content": "What colour are apples?"}]}
    with LiveServer(build_app(bot)) as url:
        with httpx.Client(base_url=url, timeout=30) as http, http.stream("POST", "/v1/chat/completions", json=body) as r:
            for n, _ in enumerate(r.iter_lines()):
                if n > 6:
                    break
        assert lock.acquire(timeout=5), "the model is still locked after the client went away"
        lock.release()
    assert len(words) < 200


@pytest.mark.slow
@pytest.mark.parametrize("bot", ["real_bot", "served_bot"])
def test_real_stack_over_http(request, bot):
    real_bot = request.getfixturevalue(bot)
    question = {"role": "user", "content": "How much did Meta plan to spend on capital expenditures in 2025?"}
    with LiveServer(build_app(real_bot)) as url, httpx.Client(base_url=url, timeout=120) as http:
        body = http.post("/v1/chat/completions", json={"messages": [question]}).json()
        assert body["choices"][0]["message"]["content"].strip()
        usage = body["usage"]  # the prompt prefix left cached by the question before is counted
        assert 0 <= usage["prompt_tokens_details"]["cached_tokens"] <= usage["prompt_tokens"]
        assert body["passages"] and all(p["name"].endswith(".txt") for p in body["passages"])
        with http.stream("POST", "/v1/chat/completions", json={"stream": True, "messages": [question]}) as r:
            events = sse_data(r.read().decode())
    assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-2]["passages"] and isinstance(events[-2]["citations"], list)
    streamed = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert streamed.strip() and streamed == events[-2]["text"] and events[-2]["replaced"] is False
    # the streamed answer is the one a plain request gets (temperature 0)
    assert streamed == body["choices"][0]["message"]["content"]


# ---------- hostile requests ----------
@pytest.mark.parametrize("body, message", [
    ({"messages": [{"role": "user", "content": "q"}], "k": 0}, "'k' must be a whole number from 1 to 50"),
    ({"messages": [{"role": "user", "content": "q"}], "k": -1}, "'k' must be"),
    ({"messages": [{"role": "user", "content": "q"}], "k": 100000}, "'k' must be"),
    ({"messages": [{"role": "user", "content": "q"}], "k": 2.5}, "'k' must be"),
    ({"messages": [{"role": "user", "content": "q"}], "k": True}, "'k' must be"),
    ({"messages": [{"role": "user", "content": "q"}], "stream": "false"}, "'stream' must be true or false"),
    ({"messages": [{"role": "user", "content": 42}]}, "'content' must be a string"),
    ({"messages": [{"role": "user", "content": {"text": "q"}}]}, "'content' must be a string"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "'content' must be"),
    ({"messages": [{"role": 7, "content": "q"}]}, "'role' must be one of"),
])
def test_wrong_types_and_ranges_get_a_400(client, body, message):
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and message in r.json()["error"]["message"]


def test_malformed_json_huge_bodies_and_wrong_methods_get_a_4xx(client):
    headers = {"content-type": "application/json"}
    r = client.post("/v1/chat/completions", content=b'{"messages": [', headers=headers)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("Bad request:")
    r = client.post("/v1/chat/completions", content=b'{"k": 1e400, "messages": [{"role": "user", "content": "q"}]}',
                    headers=headers)
    assert r.status_code == 400 and "'k' must be" in r.json()["error"]["message"]
    r = client.post("/v1/chat/completions", content=b"[" * 100_000 + b"]" * 100_000, headers=headers)
    assert r.status_code == 400
    huge = {"messages": [{"role": "user", "content": "x" * (1 << 20)}]}
    r = client.post("/v1/chat/completions", json=huge)
    assert r.status_code == 413 and "shorter" in r.json()["error"]["message"]
    assert client.get("/v1/chat/completions").status_code == 405


def test_a_long_question_is_cut_with_a_notice(client, fake_generator):
    fake_generator.queue("Apples are red [1].")
    question = "What colour are apples? " + "Tell me more. " * 20_000
    body = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]}).json()
    assert body["notices"] == ["The question was cut to its first 4000 characters."]
    assert body["choices"][0]["message"]["content"]


def test_a_stream_that_fails_unexpectedly_ends_with_an_error_event_and_done(client, fake_generator, monkeypatch):
    def broken(*args, **kwargs):
        yield "Apples "
        raise ValueError("Requested tokens (262603) exceed context window of 4096")
    monkeypatch.setattr(fake_generator, "stream", broken)
    body = {"stream": True, "messages": [{"role": "user", "content": "What colour are apples?"}]}
    events = sse_data(client.post("/v1/chat/completions", json=body).text)
    assert events[-1] == "[DONE]" and "exceed context window" in events[-2]["error"]["message"]
    assert "Traceback" not in events[-2]["error"]["message"] and "ValueError" not in events[-2]["error"]["message"]
    r = client.post("/v1/chat/completions", json={**body, "stream": False})
    assert r.status_code == 500 and "The server is still running" in r.json()["error"]["message"]


# ---------- serving beyond this machine ----------
def test_allow_remote_needs_a_password_and_an_api_key(make_bot):
    from rag.server import check_exposure
    settings = make_bot(host="0.0.0.0").settings
    with pytest.raises(ConfigError, match="--allow-remote"):
        check_exposure(settings)
    with pytest.raises(ConfigError, match="a password for the browser .* and an API key"):
        check_exposure(settings, allow_remote=True)
    with pytest.raises(ConfigError, match="an API key for the HTTP API"):
        check_exposure(settings.replace(password="pw"), allow_remote=True)
    check_exposure(settings.replace(password="pw", api_key="key"), allow_remote=True)
    check_exposure(settings, allow_remote=True, insecure_no_auth=True)
    check_exposure(settings.replace(host="127.0.0.1"))


def test_the_api_key_and_the_password_are_required_when_set(make_bot, docs_dir, fake_generator):
    from fastapi.testclient import TestClient
    bot = make_bot(api_key="s3cret", password="pw")
    bot.ingest([docs_dir])
    question = {"messages": [{"role": "user", "content": "What colour are apples?"}]}
    with TestClient(build_app(bot)) as client:
        assert client.post("/v1/chat/completions", json=question).status_code == 401
        assert client.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        fake_generator.queue("Apples are red [1].")
        ok = client.post("/v1/chat/completions", json=question, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "Apples are red [1]."
        assert client.get("/config").status_code == 401  # the browser chat asks to sign in
        assert client.post("/login", data={"username": "rag", "password": "wrong"}).status_code == 400
        assert client.post("/login", data={"username": "rag", "password": "pw"}).status_code == 200
        assert client.get("/config").status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("generator_of", ["real_bot", "served_bot"])
def test_eight_concurrent_clients_get_their_own_complete_answers_while_an_ingest_runs(request, real_settings,
                                                                                       real_bot, tmp_path,
                                                                                       generator_of):
    """8 clients x 3 streamed questions at once (SmolLM2, real MiniLM and FAISS), and a document
    added meanwhile: every stream ends complete, with the passages of its own question. With the
    in-process model (queued), and with the model server (no lock here: all go to the server)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(8):
        (docs / f"locker-{i}.txt").write_text(f"Locker {i} belongs to the {['red', 'blue', 'green', 'gold'][i % 4]} "
                                              f"team and holds crate number {1000 + i}.")
    bot = rag.Bot(real_settings.replace(index_dir=str(tmp_path / "index")), embedder=real_bot.embedder,
                  generator=request.getfixturevalue(generator_of).generator)
    bot.ingest([docs])
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "annex.txt").write_text("The annex opens at nine and closes at five.")

    def client(i: int) -> list[tuple[str, list]]:
        out = []
        # the eighth client's first token waits for seven answers: a long wait on a busy machine
        with httpx.Client(base_url=url, timeout=900) as http:
            for turn in range(3):
                question = f"Which crate does locker {i} hold?" if turn != 1 else f"Which team owns locker {i}?"
                with http.stream("POST", "/v1/chat/completions", json={
                        "stream": True, "messages": [{"role": "user", "content": question}]}) as r:
                    out.append((f"locker-{i}.txt", sse_data(r.read().decode())))
        return out
    with LiveServer(build_app(bot)) as url:
        ingest = threading.Thread(target=bot.ingest, args=([tmp_path / "late"],))
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(client, i) for i in range(8)]
            ingest.start()
            results = [f.result(timeout=1200) for f in futures]
        ingest.join(120)
    for own, events in (pair for result in results for pair in result):
        assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "stop"
        assert not any("error" in e for e in events[:-1] if isinstance(e, dict))
        assert events[-2]["passages"][0]["name"] == own  # its own question's document, not another's
    assert "annex.txt" in [os.path.basename(d.source) for d in bot.documents()]
