"""Run an ASGI app with uvicorn in a background thread on a free 127.0.0.1 port."""

from __future__ import annotations

import socket
import subprocess
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(process) -> None:
    """Stop a server process started by a test: SIGTERM, then SIGKILL after 10 s."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class LiveServer:
    """with LiveServer(app) as url: ...   (url like http://127.0.0.1:PORT)"""

    def __init__(self, app, timeout: float = 30.0):
        import uvicorn
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                         timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.timeout = timeout

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self.url

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ServeProcess:
    """with ServeProcess([rag, "serve", ...], port, env=..., cwd=...) as url: a real `rag serve`
    process, ready once its page answers; stopped with SIGINT (Ctrl-C) at the end."""

    def __init__(self, command: list[str], port: int, timeout: float = 300.0, **popen):
        self.command, self.port, self.timeout, self.popen = command, port, timeout, popen
        self.url = f"http://127.0.0.1:{port}"
        self.log = None

    def __enter__(self) -> str:
        import tempfile
        import urllib.request
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT, **self.popen)
        deadline = time.monotonic() + self.timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"rag serve exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"rag serve did not answer in {self.timeout:.0f} s:\n{self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/v1/models", timeout=5):
                    return self.url
            except OSError:
                time.sleep(0.5)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def __exit__(self, *exc):
        import signal
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
