"""The generator over HTTP (model setting openai:URL): against llama-cpp-python's own
OpenAI-compatible server running SmolLM2-135M, and its errors. The end-to-end tests of
test_real_stack, test_api and test_browser also run against that server (served_bot)."""

import json
import os
import subprocess
import sys
import threading

import pytest

import rag
from conftest import MODEL_SERVER_KEY
from live_server import LiveServer, free_port
from model_server import ModelServer
from rag.config import Settings, load_settings
from rag.errors import ConfigError, ModelError
from rag.openai_generator import OpenAIGenerator

QUESTION = "How much did Meta plan to spend on capex in 2025?"


# ---------- settings and a server that is not there (fast) ----------
@pytest.mark.parametrize("model", ["openai:", "openai:127.0.0.1:8080/v1", "openai:ftp://host/v1",
                                   "openai:http://host:port/v1", "openai:http:///v1"])
def test_a_model_server_url_that_cannot_work_is_a_config_error(model):
    with pytest.raises(ConfigError, match="openai:URL needs the http"):
        Settings(model=model)


def test_the_model_server_settings_come_from_the_environment_and_flags():
    env = {"RAG_MODEL": "openai:http://127.0.0.1:8080/v1", "RAG_OPENAI_MODEL": "qwen", "RAG_OPENAI_TIMEOUT": "30"}
    s = load_settings(env=env)
    assert (s.model, s.openai_model, s.openai_timeout) == ("openai:http://127.0.0.1:8080/v1", "qwen", 30.0)
    assert load_settings(env={}, model="openai:https://models.example/v1").model == "openai:https://models.example/v1"
    with pytest.raises(ConfigError, match="openai_timeout"):
        load_settings(env={"RAG_OPENAI_TIMEOUT": "0"})


def test_a_server_that_is_down_is_a_plain_model_error_naming_the_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    bot = rag.Bot(Settings(index_dir=str(tmp_path / "index"), model=f"openai:{url}"))
    with pytest.raises(ModelError, match=f"Cannot reach the model server at {url} .*Start it, or fix the URL"):
        bot.generator  # noqa: B018


# ---------- a scripted server, for what llama-cpp-python's never does (fast) ----------
def scripted_server(chunks, strict=False):
    """An OpenAI-style server serving model 'm' that streams the given chat chunks (dicts, or raw
    SSE text); strict: it rejects fields outside the OpenAI API, as the OpenAI API does."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse
    app, seen = FastAPI(), []

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [{"id": "m", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        seen.append(body)
        if strict and "repeat_penalty" in body:
            return JSONResponse({"error": {"message": "Unrecognized request argument supplied: repeat_penalty"}},
                                status_code=400)
        events = [c if isinstance(c, str) else f"data: {json.dumps(c)}\n\n" for c in chunks]
        return StreamingResponse(iter(events), media_type="text/event-stream")
    return app, seen


def chunk(text=None, finish=None, **extra):
    return {"choices": [{"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}], **extra}


def test_streams_pieces_keeps_usage_and_skips_pings_and_a_strict_server_gets_standard_fields_only():
    app, seen = scripted_server([": ping\n\n", chunk("Apples "), chunk("are red."), chunk(finish="stop"),
                                 {"choices": [], "usage": {"prompt_tokens": 321, "completion_tokens": 2}},
                                 "data: [DONE]\n\n"], strict=True)
    with LiveServer(app) as url:
        generator = OpenAIGenerator(url + "/v1")
        assert generator.id == "m"
        assert list(generator.stream([{"role": "user", "content": "q"}], 16, 0.0)) == ["Apples ", "are red."]
        assert generator.last_usage == (321, 2)
        assert "".join(generator.stream([{"role": "user", "content": "q"}], 16, 0.0)) == "Apples are red."
    assert "repeat_penalty" in seen[0] and all("repeat_penalty" not in body for body in seen[1:])
    assert len(seen) == 3 and seen[-1]["model"] == "m" and seen[-1]["max_tokens"] == 16 and seen[-1]["stream"]


@pytest.mark.parametrize("chunks, message", [
    ([chunk("Apples "), "data: [DONE]\n\n"], "ended the answer before it was finished"),
    ([chunk("Apples "), {"error": {"message": "out of memory"}}], "failed: out of memory"),
    (["data: {not json\n\n"], "not JSON"),
])
def test_a_broken_stream_is_a_model_error(chunks, message):
    app, _ = scripted_server(chunks)
    with LiveServer(app) as url:
        with pytest.raises(ModelError, match=message):
            list(OpenAIGenerator(url + "/v1").stream([{"role": "user", "content": "q"}], 16, 0.0))


def completion_server(status: int, body: dict):
    """An OpenAI-style server serving model 'm' that answers every chat completion with `body`."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    app, seen = FastAPI(), []
    app.get("/v1/models")(lambda: {"data": [{"id": "m"}]})

    @app.post("/v1/chat/completions")
    def chat(request: dict):
        seen.append(request)
        return JSONResponse(body, status_code=status)
    return app, seen


def first_token(*top):
    return {"choices": [{"message": {"content": top[0][0]}, "finish_reason": "length", "logprobs": {"content": [
        {"token": top[0][0], "logprob": top[0][1], "top_logprobs": [{"token": t, "logprob": p} for t, p in top]}]}}]}


@pytest.mark.parametrize("status, body, odds", [
    (200, first_token(("Yes", -0.5), (" yes", -3.0), ("No", -1.5), ("Maybe", -2.0)),
     {"Yes": 0.6563, "No": 0.2231}),
    (200, {"choices": [{"message": {"content": "Yes"}, "finish_reason": "length"}]}, {}),  # no logprobs given
    (400, {"error": {"message": "logprobs is not supported"}}, {}),
])
def test_the_served_models_first_word_odds_come_from_the_first_tokens_logprobs(status, body, odds):
    app, seen = completion_server(status, body)
    with LiveServer(app) as url:
        got = OpenAIGenerator(url + "/v1").first_word_odds([{"role": "user", "content": "q"}], ("Yes", "No"))
    assert got.keys() == odds.keys() and all(abs(got[w] - odds[w]) < 1e-4 for w in odds)
    assert seen[0]["max_tokens"] == 1 and seen[0]["logprobs"] is True and seen[0]["top_logprobs"] == 20
    assert not seen[0].get("stream")


# ---------- llama-cpp-python's server with SmolLM2 (slow) ----------
@pytest.mark.slow
def test_the_served_model_answers_as_the_in_process_one(real_bot, served_bot):
    """The same GGUF, greedy: the same raw answer, and so the same verified text and citations."""
    local, served = real_bot.ask(QUESTION), served_bot.ask(QUESTION)
    assert served.raw_text == local.raw_text and served.raw_text.strip()
    assert (served.text, served.refused, served.refusal_reason) == (local.text, local.refused, local.refusal_reason)
    assert [(c.n, c.source, c.supported) for c in served.citations] == [(c.n, c.source, c.supported)
                                                                       for c in local.citations]
    assert served.timings.first_token_s is not None and served.timings.completion_tokens > 0
    assert served_bot.generator.id == "smollm2-135m" and served_bot.generator.url.endswith("/v1")


@pytest.mark.slow
def test_the_served_model_gives_the_in_process_models_first_word_odds(real_bot, served_bot):
    """The odds that decide a yes/no question's reading (yesno.leaning) are the same over HTTP."""
    messages = [{"role": "user", "content": "Reply with one word, Yes or No. Is two more than one?"}]
    local = real_bot.generator.first_word_odds(messages, ("Yes", "No"))
    served = served_bot.generator.first_word_odds(messages, ("Yes", "No"))
    assert served.keys() == {"Yes", "No"} and sum(served.values()) > 0.05
    assert all(abs(served[w] - local[w]) < 0.02 for w in ("Yes", "No")), (served, local)


@pytest.mark.slow
def test_a_follow_up_is_rewritten_by_the_served_model(real_bot, served_bot):
    history = [(QUESTION, "Meta planned to spend $60 billion to $65 billion [1].")]
    assert served_bot.rewriter is served_bot.generator
    follow_up = "And what did it say about DeepSeek?"
    assert served_bot._standalone(follow_up, history) == real_bot._standalone(follow_up, history)
    assert served_bot.rewrite(follow_up, history).strip()


@pytest.mark.slow
@pytest.mark.parametrize("change, message", [
    ({"openai_model": "gpt-4o"}, "serves smollm2-135m, not 'gpt-4o'. Set openai_model"),
    ({"url": "/"}, r"has no /models \(404\): is the URL its OpenAI base URL, usually ending in /v1"),
    ({"key": ""}, r"refused the request \(401\): set its API key in RAG_OPENAI_API_KEY"),
    ({"key": "wrong"}, r"refused the request \(401\)"),
])
def test_a_wrong_model_name_url_or_key_is_a_plain_model_error(model_server, real_settings, monkeypatch, change,
                                                               message):
    url = model_server.removesuffix("/v1") + change.pop("url", "/v1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("RAG_OPENAI_API_KEY", change.pop("key", MODEL_SERVER_KEY))
    bot = rag.Bot(real_settings.replace(model=f"openai:{url}", **change))
    with pytest.raises(ModelError, match=message):
        bot.generator  # noqa: B018


@pytest.mark.slow
def test_a_cut_stream_and_a_server_gone_away_are_model_errors(tmp_path):
    """llama-cpp-python's server as it starts by default ends a stream when another request comes
    in: the cut answer is an error, not a short answer. Then the server stops."""
    from rag.models import resolve_model
    long = [{"role": "user", "content": "Count from 1 to 300, one number per line."}]
    with ModelServer(resolve_model("smollm2-135m"), tmp_path / "server.log", interrupt_requests=True) as url:
        generator = OpenAIGenerator(url)
        first = generator.stream(long, 400, 0.0)
        next(first)
        second = threading.Thread(target=lambda: list(generator.stream(long, 4, 0.0)))
        second.start()
        with pytest.raises(ModelError, match="ended the answer before it was finished.*--interrupt_requests False"):
            list(first)
        second.join(120)
    with pytest.raises(ModelError, match=f"Cannot reach the model server at {url}"):
        list(generator.stream(long, 4, 0.0))


@pytest.mark.slow
def test_cli_ask_with_the_model_flag_and_the_key_in_the_environment(real_settings, real_bot, model_server):
    env = {**os.environ, "RAG_INDEX_DIR": real_settings.index_dir, "RAG_MAX_TOKENS": "64",
           "RAG_OPENAI_API_KEY": MODEL_SERVER_KEY}
    out = subprocess.run([sys.executable, "-m", "rag.cli", "--model", f"openai:{model_server}", "ask", "--json",
                          QUESTION], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["text"] and answer["passages"]
    env["RAG_OPENAI_API_KEY"] = "wrong"
    out = subprocess.run([sys.executable, "-m", "rag.cli", "--model", f"openai:{model_server}", "ask", QUESTION],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 1 and out.stderr.startswith("error: The model server at") and "Traceback" not in out.stderr
