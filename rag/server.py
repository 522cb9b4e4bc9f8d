"""`rag serve`: the browser chat (ui/app.py) and an OpenAI-compatible API, one process, one port.

    POST /v1/chat/completions   OpenAI chat format; stream true gives server-sent events.
                                Responses also carry `citations`, `passages` and `refused`.
    GET  /v1/models             the one model served
    /                           the browser chat
"""

import hmac
import importlib
import ipaddress
import json
import socket
import sys
import time
import uuid
from functools import partial

from .errors import ConfigError, RagError
from .followup import HISTORY_TURNS
from .streaming import Correction, Progress
from .types import Answer



def load_ui():
    """The browser app: the ui.app module, installed with the package."""
    try:
        return importlib.import_module("ui.app")
    except ModuleNotFoundError as e:
        if e.name not in ("ui", "ui.app"):
            raise
        raise ConfigError("The browser app (package ui) is not installed: reinstall rag (pip install .)") from None


BEAT_S = 0.2  # while no checked text is ready, a stream says the stage at most this often
MAX_BODY_BYTES = 1 << 20  # a chat request is a question and a short history
MAX_K = 50
ROLES = ("system", "user", "assistant", "tool", "developer")


# ---------- OpenAI format ----------
def _content(message: dict) -> str:
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        if all(isinstance(p, dict) and isinstance(p.get("text", ""), str) for p in content):
            return "".join(p.get("text", "") for p in content)
    raise ValueError("a message's 'content' must be a string or a list of text parts")


def parse_k(body: dict) -> int | None:
    """The passages asked for ('k' or 'top_k'): a whole number from 1 to MAX_K, or None."""
    k = body.get("k", body.get("top_k"))
    if k is None:
        return None
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ValueError(f"'k' must be a whole number from 1 to {MAX_K}")
    return k


def parse_stream(body: dict) -> bool:
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ValueError("'stream' must be true or false")
    return stream


def parse_messages(messages) -> tuple[str, list[tuple[str, str]]]:
    """(question, history) from OpenAI messages: the last user message is the question,
    earlier user messages followed by an assistant message are the history."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list")
    if not all(isinstance(m, dict) for m in messages):
        raise ValueError("each message must be an object with 'role' and 'content'")
    if not all(m.get("role") in ROLES for m in messages):
        raise ValueError(f"each message's 'role' must be one of {', '.join(ROLES)}")
    last = messages[-1]
    if last.get("role") != "user" or not _content(last).strip():
        raise ValueError("the last message must be a non-empty user message (the question)")
    history, pending = [], None
    for m in messages[:-1]:
        if m.get("role") == "user":
            pending = _content(m)
        elif m.get("role") == "assistant" and pending is not None:
            history.append((pending, _content(m)))
            pending = None
    return _content(last).strip(), history[-HISTORY_TURNS:]


RAG_FIELDS = ("citations", "passages", "refused", "refusal_reason", "refusal_stage", "timings",
              "notices")  # of Answer.to_dict()


def rag_fields(answer) -> dict:
    data = answer.to_dict()
    return {key: data[key] for key in RAG_FIELDS}


def completion_json(answer, model: str, id_: str, created: int) -> dict:
    t = answer.timings
    return {"id": id_, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer.text}}],
            "usage": {"prompt_tokens": t.prompt_tokens, "completion_tokens": t.completion_tokens,
                      "total_tokens": t.prompt_tokens + t.completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": t.cached_tokens}},
            **rag_fields(answer)}


def chunk_json(model: str, id_: str, created: int, delta: dict, finish: str | None = None) -> dict:
    return {"id": id_, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def sse(data) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def error_json(message: str, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind}}


def sse_events(bot, question, history, k, model, id_, created):
    """The streamed answer as SSE lines. The content pieces are checked text: joined, they are
    the final answer's text. The last chunk carries the final `text` and the sources; in the rare
    case that the final check changed what was already sent (rag.streaming.Correction), it also
    says `"replaced": true` and its `text` is the answer to show instead."""
    yield sse(chunk_json(model, id_, created, {"role": "assistant", "content": ""}))
    events = bot.events(question, history=history, k=k)
    replaced, beat = False, 0.0
    try:
        for event in events:
            if isinstance(event, Progress) and time.monotonic() - beat > BEAT_S:
                # an SSE comment (clients skip it): the stage, and a write that finds a client gone
                beat = time.monotonic()
                yield f": {event.stage} {event.elapsed_s:.1f}s\n\n"
            elif isinstance(event, str):
                yield sse(chunk_json(model, id_, created, {"content": event}))
            elif isinstance(event, Correction):
                replaced = True
            elif isinstance(event, Answer):
                yield sse(chunk_json(model, id_, created, {}, "stop") | {"text": event.text, "replaced": replaced}
                          | rag_fields(event))
    except RagError as e:
        yield sse(error_json(str(e), "server_error"))
    except Exception as e:  # a stream that fails still ends with an error event and [DONE]
        yield sse(error_json(unexpected(e), "server_error"))
    finally:
        events.close()
    yield "data: [DONE]\n\n"


def unexpected(error: Exception) -> str:
    """One line for the client and the log, never a traceback."""
    said = (str(error).splitlines() or [""])[0][:300]
    print(f"error: {error.__class__.__name__}: {said}", file=sys.stderr)  # the class name for the log only
    return (f"The answer failed ({said})." if said else "The answer failed.") + \
        " The server is still running; try again or ask differently."


async def _in_thread(iterator):
    """Iterate a blocking generator off the event loop; close it whatever happens
    (a client that disconnects must not leave the model locked)."""
    import anyio
    done = object()
    try:
        while (item := await anyio.to_thread.run_sync(next, iterator, done)) is not done:
            yield item
    finally:
        iterator.close()


# ---------- the app ----------
def add_api(app, bot) -> None:
    from fastapi import Request
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.concurrency import run_in_threadpool

    model = bot.settings.model

    def refused(request: Request):
        """A 401 when an API key is set and the request does not carry it, else None."""
        if api_key_ok(bot.settings.api_key, request.headers.get("authorization", "")):
            return None
        return JSONResponse(error_json("Missing or wrong API key: send 'Authorization: Bearer KEY'",
                                       "authentication_error"), status_code=401)

    @app.get("/v1/models")
    def models(request: Request):
        return refused(request) or {"object": "list", "data": [
            {"id": model, "object": "model", "created": 0, "owned_by": "local"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        if denied := refused(request):
            return denied
        try:
            raw = await read_body(request)
        except BodyTooLarge:
            return JSONResponse(error_json(f"Request body over {MAX_BODY_BYTES // 1024} KB: "
                                           f"send a shorter question or history"), status_code=413)
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            question, history = parse_messages(body.get("messages"))
            k, stream = parse_k(body), parse_stream(body)
        except (ValueError, TypeError, RecursionError) as e:
            return JSONResponse(error_json(f"Bad request: {str(e).splitlines()[0][:200]}"), status_code=400)
        id_, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if stream:
            events = sse_events(bot, question, history, k, model, id_, created)
            return StreamingResponse(_in_thread(events), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        try:
            answer = await run_in_threadpool(partial(bot.ask, question, history=history, k=k))
        except RagError as e:
            return JSONResponse(error_json(str(e), "server_error"), status_code=500)
        except Exception as e:
            return JSONResponse(error_json(unexpected(e), "server_error"), status_code=500)
        return completion_json(answer, model, id_, created)


    @app.api_route("/v1/chat/completions", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def wrong_method(request: Request):
        return JSONResponse(error_json(f"Use POST for /v1/chat/completions, not {request.method}"),
                            status_code=405, headers={"Allow": "POST"})


class BodyTooLarge(Exception):
    pass


async def read_body(request) -> bytes:
    """The request body, read no further than MAX_BODY_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLarge
    return bytes(body)


def api_key_ok(expected: str, header: str) -> bool:
    """No key set: every request is allowed (the server listens on this machine only)."""
    if not expected:
        return True
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


def build_app(bot):
    """One FastAPI app: the OpenAI-compatible API under /v1 and the browser chat at /. With a
    password set, the browser chat asks for it (user "rag"); with an API key, /v1 needs it."""
    import gradio as gr
    from fastapi import FastAPI

    app = FastAPI(title="rag", description="Questions about your documents, answered locally with sources.")
    add_api(app, bot)
    ui = load_ui().ChatUI(bot)
    password = bot.settings.password
    auth = (lambda user, given: user == "rag" and hmac.compare_digest(given.encode(), password.encode())
            ) if password else None
    return gr.mount_gradio_app(app, ui.create_app(), path="/", ssr_mode=False, auth=auth,
                               auth_message="Sign in as user 'rag' with the server's password." if auth else None,
                               **ui.page_kwargs())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise ConfigError(f"Cannot listen on {host}:{port} ({e.strerror}). Is another `rag serve` "
                              f"running? Choose another port with --port.") from None


def check_exposure(settings, allow_remote: bool = False, insecure_no_auth: bool = False) -> None:
    """Listening beyond this machine needs --allow-remote, and then a password for the browser
    and an API key for the HTTP API, unless --insecure-no-auth says to go without."""
    host = settings.host
    if is_loopback(host):
        return
    if not allow_remote:
        raise ConfigError(f"Refusing to listen on {host}: anyone who can reach this machine could read "
                          f"your documents. Use --host 127.0.0.1, or add --allow-remote if you mean it.")
    if insecure_no_auth:
        return
    missing = [what for what, value in (("a password for the browser (--password or RAG_PASSWORD)", settings.password),
                                        ("an API key for the HTTP API (--api-key or RAG_API_KEY)", settings.api_key))
               if not value]
    if missing:
        raise ConfigError(f"Listening on {host} needs {' and '.join(missing)}, so that only the people you "
                          f"give them to can read your documents (or add --insecure-no-auth).")


def serve(bot, allow_remote: bool = False, insecure_no_auth: bool = False) -> int:
    """Serve the chat and the API on settings.host:settings.port until Ctrl-C."""
    import uvicorn

    host, port = bot.settings.host, bot.settings.port
    check_exposure(bot.settings, allow_remote, insecure_no_auth)
    if not is_loopback(host) and insecure_no_auth:
        print(f"warning: listening on {host} with no login: anyone who can reach this address can ask "
              f"about (and upload or remove) your documents.", file=sys.stderr)
    check_port_free(host, port)
    print(f"Loading the model {bot.settings.model} ...", file=sys.stderr)
    bot.generator  # noqa: B018  (load it now, so the first question is not slow)
    app = build_app(bot)
    shown = f"[{host}]" if ":" in host else host
    print(f"Chat in your browser: http://{shown}:{port}/\n"
          f"OpenAI-compatible API: http://{shown}:{port}/v1/chat/completions\nCtrl-C to stop.", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
