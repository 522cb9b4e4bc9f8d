"""Run llama-cpp-python's OpenAI-compatible server (python -m llama_cpp.server) in a subprocess
on a free 127.0.0.1 port, and stop it afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from live_server import free_port, terminate


class ModelServer:
    """with ModelServer(gguf_path, log=path) as url: ...   (url like http://127.0.0.1:PORT/v1)

    interrupt_requests=False: by default the server ends a stream as soon as another request
    comes in, which would cut the answers of concurrent users short."""

    def __init__(self, model_path: str, log: Path, alias: str = "smollm2-135m", api_key: str = "",
                 n_threads: int = 2, n_ctx: int = 4096, interrupt_requests: bool = False, timeout: float = 120.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.api_key, self.log, self.timeout = api_key, Path(log), timeout
        self.command = [sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--model_alias", alias,
                        "--host", "127.0.0.1", "--port", str(self.port), "--n_threads", str(n_threads),
                        "--n_ctx", str(n_ctx), "--interrupt_requests", str(interrupt_requests)]
        if api_key:
            self.command += ["--api_key", api_key]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> str:
        import httpx
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + self.timeout
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the model server did not start: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/models", headers=headers, timeout=2).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

    def __exit__(self, *exc):
        terminate(self.process)
