"""A loopback stand-in for an OpenAI-compatible endpoint: POST /v1/chat/completions.

It answers with the text of `reply(request)` unless told to misbehave: `mode` = "ok", "slow"
(wait `delay` seconds first), "trickle" (a good answer, one byte every `delay` seconds), "huge"
(a good answer of about 5.6 MB, with no Content-Length), "error" (HTTP 500), "empty" (an empty
message), "garbage" (not JSON) or "no_choices" (JSON without choices). Every request body is
recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeLlm:
    def __init__(self, reply: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.reply = reply or (lambda request: "A randomized trial found that the drug works.")
        self.mode = "ok"
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeLlm:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = json.loads(body or b"{}")
                with fake._lock:
                    fake.requests.append(request)
                    fake.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                if fake.mode == "slow":
                    time.sleep(fake.delay)
                if fake.mode == "error":
                    self._send(500, b'{"error": {"message": "internal error"}}')
                elif fake.mode == "garbage":
                    self._send(200, b"<html>maintenance</html>")
                elif fake.mode == "no_choices":
                    self._send(200, b'{"id": "x", "object": "chat.completion"}')
                else:
                    content = "" if fake.mode == "empty" else fake.reply(request)
                    answer = {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "model": request.get("model", ""),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                    body = json.dumps(answer).encode()
                    if fake.mode == "trickle":
                        self._trickle(body)
                    elif fake.mode == "huge":
                        self._huge(answer)
                    else:
                        self._send(200, body)

            def _trickle(self, body: bytes) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for byte in body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(fake.delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _huge(self, answer: dict[str, Any]) -> None:
                answer["choices"][0]["message"]["content"] = "A long answer. " * 375_000
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(json.dumps(answer).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def _send(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
