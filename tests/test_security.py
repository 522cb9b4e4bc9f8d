"""Nothing outside the index's documents and its uploads can be read through the server:
a real server on 127.0.0.1, driven as a hostile client would."""

import json
import uuid

import httpx
import pytest

from live_server import LiveServer
from rag.server import build_app


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "elsewhere" / "secret.txt"
    path.parent.mkdir()
    path.write_text("The vault code is 4417.")
    return path


def event(url: str, api_name: str, data: list) -> dict:
    """Call a Gradio event through the queue by its fn_index, as the page does (hidden events too);
    returns the process_completed message."""
    with httpx.Client(base_url=url, timeout=30) as http:
        config = http.get("/config").json()
        fn_index, dep = next((i, d) for i, d in enumerate(config["dependencies"]) if d["api_name"] == api_name)
        session = uuid.uuid4().hex
        joined = http.post("/gradio_api/queue/join", json={
            "data": data, "fn_index": fn_index, "trigger_id": dep["targets"][0][0], "session_hash": session,
            "event_data": None})
        assert joined.status_code == 200, joined.text
        with http.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    message = json.loads(line[6:])
                    if message.get("msg") == "process_completed":
                        return message
    raise AssertionError("the event did not complete")


def test_the_upload_event_called_with_a_server_side_path_reads_nothing(make_bot, docs_dir, secret):
    bot = make_bot()
    bot.ingest([docs_dir])
    before = bot.documents()
    with LiveServer(build_app(bot)) as url:
        for path in (str(secret), f"{secret.parent}/../elsewhere/secret.txt"):
            done = event(url, "upload", [[{"path": path, "orig_name": "notes.txt", "meta": {"_type": "gradio.FileData"}}]])
            message, table = done["output"]["data"][:2]
            assert "was not added: it was not received as an upload" in message
            assert "secret" not in json.dumps(table) and "4417" not in json.dumps(table)
    assert bot.documents() == before
    assert not any("4417" in c.text for c in bot.store.chunks.values())
    assert not (secret.parent.parent / "uploads" / "secret.txt").exists()


def test_the_file_routes_serve_no_server_file(make_bot, secret):
    with LiveServer(build_app(make_bot())) as url, httpx.Client(base_url=url, timeout=10) as http:
        for route in (f"/gradio_api/file={secret}", f"/file={secret}", "/gradio_api/file=../../../etc/passwd",
                      f"/gradio_api/file=%2F{str(secret)[1:]}", "/gradio_api/file=/etc/passwd"):
            r = http.get(route)
            assert r.status_code in (403, 404) and "4417" not in r.text and "root:" not in r.text, route
