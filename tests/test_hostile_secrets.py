"""A hostile user's fourth round (issue 33, item 2): no key in a holder file or on the terminal, whatever form it
is given or echoed in, and the redactor leaves its own hint alone."""

from __future__ import annotations

import json
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from redaction import redact, remember
from tests.conftest import run_cli, write_list_dataset
from tests.hostile import ingest

KEY = "tOp-s3cret-k3y-7781"


def test_a_key_given_to_this_process_is_hidden_in_any_text_and_the_hint_is_left_alone():
    assert redact("check --api-key / QDRANT_API_KEY") == "check --api-key / QDRANT_API_KEY"
    assert redact("cli.py collections push c --to http://h:6333 --to-api-key abc") == (
        "cli.py collections push c --to http://h:6333 --to-api-key ***"
    )
    remember("http://alice:pa55word-9@host:6333", url=True)
    remember("http://localhost:6333", url=True)  # a URL without credentials hides nothing of itself
    assert redact("Qdrant at http://localhost:6333") == "Qdrant at http://localhost:6333"
    remember("Zq9-remembered-key")
    echoed = 'b\'{"api-key": "Zq9-remembered-key", "authorization": "Basic pa55word-9"}\''
    assert "Zq9-remembered-key" not in redact(echoed) and "pa55word-9" not in redact(echoed)
    remember("pw12")  # a short one only where it stands alone: words that contain it stay readable
    assert redact("pw12 pw123 xpw12") == "*** pw123 xpw12"


def test_a_holder_file_is_private_and_records_no_key(tmp_path, monkeypatch):
    from store.edge.holders import Holder

    (tmp_path / "c").mkdir()
    holder = Holder(tmp_path / "c", "c")
    holder.path.write_text("")
    holder.path.chmod(0o644)  # one an earlier release made readable by all
    remember("QQ-given-key-55")
    monkeypatch.setattr(sys, "argv", ["cli.py", "collections", "push", "c", "--to", "http://h", "--to-api-key",
                                      "QQ-given-key-55", "--to-api-key=QQ-given-key-55"])  # fmt: skip
    holder.acquire(0)
    try:
        recorded = holder.path.read_text()
        assert "QQ-given-key-55" not in recorded and "--to-api-key ***" in json.loads(recorded)["command"]
        assert stat.S_IMODE(holder.path.stat().st_mode) == 0o600
    finally:
        holder.release()


class _Echo(BaseHTTPRequestHandler):
    """A stand-in server that lists no collections and answers everything else 500 with the request's headers."""

    def do_GET(self) -> None:
        if self.path in ("/collections", "/aliases"):
            key = self.path.strip("/")
            self._answer(200, json.dumps({"result": {key: []}, "status": "ok", "time": 0}))
        else:
            self._answer(500, json.dumps({"status": {"error": f"headers: {dict(self.headers)}"}, "time": 0}))

    def _answer(self, status: int, body: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args) -> None:
        """Quiet."""


def test_a_server_error_that_echoes_the_headers_never_shows_the_key(tmp_path):
    write_list_dataset(tmp_path / "data" / "shapes", per_class=2)
    ingest(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        pushed = run_cli("--storage", "q", "collections", "push", "shapes_colorhist", "--to", url,
                         "--to-api-key", KEY, cwd=tmp_path)  # fmt: skip
    finally:
        server.shutdown()
    assert pushed.returncode != 0
    assert "500" in pushed.stderr and KEY not in pushed.stderr + pushed.stdout
