"""A generator behind any OpenAI-compatible HTTP server (llama.cpp's server, llama-cpp-python's,
vLLM, Ollama, a hosted endpoint), chosen with the model setting openai:URL."""

from __future__ import annotations

import json
import math
import os
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

from .errors import ModelError
from .generator import word_odds

PREFIX = "openai:"
CONNECT_TIMEOUT = 10.0
# llama.cpp's servers penalise repeats by default (1.1); the in-process model does not. A server
# that rejects fields outside the OpenAI API is asked again without these.
LLAMA_CPP_FIELDS = {"repeat_penalty": 1.0}
TOP_LOGPROBS = 20  # the most the OpenAI API allows


def is_remote(model: str) -> bool:
    return model.startswith(PREFIX)


class OpenAIGenerator:
    """Streams chat completions from a model server. No lock: concurrent calls go to the server
    at once, and a server with several slots batches them."""

    def __init__(self, url: str, model: str = "", api_key: str = "", timeout: float = 120.0, seed: int = 0):
        import httpx
        self.url = url.rstrip("/")
        self.seed = seed
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
                                 limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))
        self.model = self._served(model)
        self.id = self.model
        self.extra = dict(LLAMA_CPP_FIELDS)
        self.last_usage = (0, 0)

    # ---------- the server ----------
    def _request(self, method: str, path: str, **kwargs):
        import httpx
        try:
            return self.http.request(method, self.url + path, **kwargs)
        except httpx.TimeoutException:
            raise ModelError(self._timed_out()) from None
        except httpx.HTTPError as e:
            raise ModelError(self._unreachable(e)) from None

    def _unreachable(self, error) -> str:
        return (f"Cannot reach the model server at {self.url} ({type(error).__name__}: {error}). "
                f"Start it, or fix the URL in the model setting (openai:http://HOST:PORT/v1).")

    def _timed_out(self) -> str:
        return (f"The model server at {self.url} did not answer within {self.timeout:g} s. It may be busy: "
                f"try again, or raise the openai_timeout setting.")

    def _refused(self, response) -> str:
        code = response.status_code
        if code in (401, 403):
            return (f"The model server at {self.url} refused the request ({code}): set its API key in "
                    f"RAG_OPENAI_API_KEY (or OPENAI_API_KEY).")
        if code == 404:
            return (f"The model server at {self.url} has no {response.request.url.path} (404): is the URL its "
                    f"OpenAI base URL, usually ending in /v1? The server said: {_message(response)}")
        return f"The model server at {self.url} answered {code}: {_message(response)}"

    def _served(self, wanted: str) -> str:
        """The model to ask for: `wanted` if the server lists it, else the server's first model."""
        response = self._request("GET", "/models")
        if response.status_code != 200:
            raise ModelError(self._refused(response))
        try:
            served = [m["id"] for m in response.json()["data"]]
        except (ValueError, KeyError, TypeError):
            raise ModelError(f"{self.url}/models did not answer with a model list: is {self.url} an "
                             f"OpenAI-compatible server's base URL (usually ending in /v1)?") from None
        if wanted and wanted not in served:
            raise ModelError(f"The model server at {self.url} serves {', '.join(served) or 'no model'}, "
                             f"not '{wanted}'. Set openai_model (RAG_OPENAI_MODEL) to one of them.")
        if not served and not wanted:
            raise ModelError(f"The model server at {self.url} lists no model: set openai_model "
                             f"(RAG_OPENAI_MODEL) to the name it serves.")
        return wanted or served[0]

    @contextmanager
    def _open(self, body: dict):
        """The streamed response to a chat completion request; a 400 or 422 that names one of the
        llama.cpp fields is taken as a server that allows none, which is asked again without them."""
        extra = self.extra
        with self.http.stream("POST", self.url + "/chat/completions", json=body | extra) as response:
            if response.status_code == 200:
                yield response
                return
            response.read()
            if not (extra and response.status_code in (400, 422) and any(k in response.text for k in extra)):
                raise ModelError(self._refused(response))
        self.extra = {}
        with self.http.stream("POST", self.url + "/chat/completions", json=body) as response:
            if response.status_code != 200:
                response.read()
                raise ModelError(self._refused(response))
            yield response

    # ---------- the Generator protocol ----------
    def count_tokens(self, text: str) -> int:
        """An estimate (about four characters a token): the server's tokenizer is not standard."""
        return estimate_tokens(text)

    def reset(self) -> None:
        """Nothing to forget here: the server manages its own prompt cache."""

    def first_word_odds(self, messages: list[dict], words: tuple[str, ...]) -> dict[str, float]:
        """The probability the model gives each word as the first of its reply to `messages`, from
        the server's top log-probabilities of the first token (in any case, with or without a space
        before it). Empty when the server gives none or refuses to (yesno.leaning then leans no
        way); a server that cannot be reached is a ModelError, as for `stream`."""
        import httpx
        body = {"model": self.model, "messages": messages, "max_tokens": 1, "temperature": 0.0,
                "seed": self.seed, "logprobs": True, "top_logprobs": TOP_LOGPROBS}
        try:
            with self._open(body) as response:
                response.read()
                return _first_token_odds(response.text, words)
        except ModelError:
            return {}
        except httpx.TimeoutException:
            raise ModelError(self._timed_out()) from None
        except httpx.HTTPError as e:
            raise ModelError(self._unreachable(e)) from None

    def stream(self, messages, max_tokens=384, temperature=0.0) -> Iterator[str]:
        import httpx
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                "seed": self.seed, "stream": True, "stream_options": {"include_usage": True}}
        pieces, usage, finished = 0, None, False
        try:
            with self._open(body) as response:
                for event in _events(response.iter_lines()):
                    if "error" in event:
                        raise ModelError(f"The model server at {self.url} failed: {_error_text(event['error'])}")
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or []:
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            pieces += 1
                            yield text
                        finished = finished or bool(choice.get("finish_reason"))
        except httpx.TimeoutException:
            raise ModelError(self._timed_out()) from None
        except httpx.HTTPError as e:
            raise ModelError(self._unreachable(e)) from None
        if not finished:
            raise ModelError(f"The model server at {self.url} ended the answer before it was finished. "
                             f"llama-cpp-python's server cuts a stream when another request comes in unless it "
                             f"runs with --interrupt_requests False.")
        if usage:
            self.last_usage = (usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or pieces)
        else:
            self.last_usage = (sum(estimate_tokens(_text(m.get("content"))) for m in messages), pieces)


def _events(lines) -> Iterator[dict]:
    """The JSON payloads of a server-sent event stream, until [DONE]; comments (pings) skipped."""
    data: list[str] = []
    for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line.strip() and data:
            payload, data = "\n".join(data), []
            if payload == "[DONE]":
                return
            yield _parse(payload)
    if data and "\n".join(data) != "[DONE]":
        yield _parse("\n".join(data))


def _parse(payload: str) -> dict:
    try:
        event = json.loads(payload)
    except ValueError:
        raise ModelError(f"The model server sent something that is not JSON: {payload[:200]!r}") from None
    return event if isinstance(event, dict) else {}


def _first_token_odds(payload: str, words: tuple[str, ...]) -> dict[str, float]:
    """Each word's probability among a chat completion's top log-probabilities for its first
    token; {} when the completion has none."""
    try:
        top = json.loads(payload)["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        candidates = [(str(t["token"]), math.exp(float(t["logprob"]))) for t in top]
    except (ValueError, KeyError, IndexError, TypeError):
        return {}
    return word_odds(candidates, words)


def _message(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip() or "(no message)"
    if isinstance(body, dict) and "error" in body:
        return _error_text(body["error"])
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:300]


def _error_text(error) -> str:
    return str(error.get("message") or error) if isinstance(error, dict) else str(error)


def _text(content) -> str:
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def load(settings) -> OpenAIGenerator:
    """The generator for a model setting openai:URL; one per process per URL and model. The API
    key comes from the environment only (RAG_OPENAI_API_KEY, else OPENAI_API_KEY), so that it is
    never written where settings are recorded."""
    api_key = os.environ.get("RAG_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY", "")
    return _load(settings.model[len(PREFIX):], settings.openai_model, api_key, settings.openai_timeout,
                 settings.seed)


@lru_cache(maxsize=4)
def _load(url: str, model: str, api_key: str, timeout: float, seed: int) -> OpenAIGenerator:
    return OpenAIGenerator(url, model=model, api_key=api_key, timeout=timeout, seed=seed)
