"""Run llama.cpp's own llama-server (continuous batching over --parallel slots) in a subprocess on
a free 127.0.0.1 port, and stop it afterwards. The binary is not a Python package: build it with
benchmarks/build_llama_server.sh and point RAG_LLAMA_SERVER at it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from live_server import free_port, terminate

ENV = "RAG_LLAMA_SERVER"


def find_binary(path: str | None = None) -> str | None:
    """`path`, else $RAG_LLAMA_SERVER; None when it is not an executable file. No search of PATH:
    another build of llama-server may not take the same flags."""
    candidate = path or os.environ.get(ENV)
    if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return None


def version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("version")]
    return lines[0] if lines else "unknown"


class LlamaServer:
    """with LlamaServer(binary, gguf_path, log=path, parallel=4) as url: ...  (url like http://127.0.0.1:PORT/v1)

    -c is parallel x ctx_per_slot: llama-server splits its context between the slots, so each
    answer gets the context the in-process model has. Continuous batching is llama-server's
    default; it is named here so the command line says what is measured."""

    def __init__(self, binary: str, model_path: str, log: Path, alias: str = "smollm2-135m", parallel: int = 4,
                 ctx_per_slot: int = 4096, n_threads: int = 2, timeout: float = 300.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log, self.timeout = Path(log), timeout
        self.command = [binary, "--model", model_path, "--alias", alias, "--host", "127.0.0.1",
                        "--port", str(self.port), "--threads", str(n_threads), "--threads-batch", str(n_threads),
                        "--parallel", str(parallel), "--ctx-size", str(parallel * ctx_per_slot), "--no-kv-unified",
                        "--cont-batching", "--fit", "off", "--no-webui"]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> str:
        import httpx
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.timeout
        health = self.url[:-len("/v1")] + "/health"
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"llama-server did not start: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                r = httpx.get(health, timeout=2)
                if r.status_code == 200 and r.json().get("status") == "ok":
                    return self.url
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)

    def stop(self) -> None:
        terminate(self.process)

    def __exit__(self, *exc):
        self.stop()

    def busy_slots(self) -> int | None:
        """How many slots are answering now (GET /slots), or None if the server does not say."""
        import httpx
        try:
            slots = httpx.get(self.url[:-len("/v1")] + "/slots", timeout=5).json()
            return sum(bool(s.get("is_processing")) for s in slots)
        except (httpx.HTTPError, ValueError, TypeError, AttributeError):
            return None


class SlotWatcher:
    """with SlotWatcher(server) as w: ...; w.most: the most slots seen busy at once (polled)."""

    def __init__(self, server: LlamaServer, every: float = 0.5):
        import threading
        self.server, self.every, self.most = server, every, 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stopped.wait(self.every):
            self.most = max(self.most, self.server.busy_slots() or 0)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=10)
