"""`serve`: the warning on a non-local host, and one access line per request answered, in the app and in a real
process stopped by SIGTERM."""

from __future__ import annotations

import re
import time

import pytest
from click.testing import CliRunner

from commands.context import Context
from tests.conftest import ROOT
from tests.web_fixtures import built_fixture  # noqa: F401 (pytest finds `built` here)


def test_serve_warns_on_a_non_local_host_and_builds_the_app(monkeypatch, opened, built):
    import cli

    served = []
    monkeypatch.setattr("web.app.serve", lambda app, host, port, **_: served.append((host, port)))
    handed = Context(handed=opened)  # the CLI in this process, on the open store
    runner = CliRunner()
    local = runner.invoke(cli.cli, ["serve", "--port", "8123", "--data-root", str(built / "data")], obj=handed)
    public = runner.invoke(cli.cli, ["serve", "--host", "0.0.0.0", "--port", "8124"], obj=handed)
    assert local.exit_code == 0 and public.exit_code == 0, local.output + public.output
    assert served == [("127.0.0.1", 8123), ("0.0.0.0", 8124)]
    assert "warning" not in local.output and "warning: listening on 0.0.0.0" in public.output


def test_each_request_answered_is_one_access_line(opened, built):
    from fastapi.testclient import TestClient

    from web import create_app
    from web.backend import Options

    lines: list[str] = []
    app = create_app(lambda: opened, Options(built / "data", built / "reports", "cpu", access=lines.append))
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/").status_code == 200 and client.get("/c/nope_clip?k=3").status_code == 404
    assert re.fullmatch(r"GET / 200 \d+ ms", lines[0]) and re.fullmatch(r"GET /c/nope_clip\?k=3 404 \d+ ms", lines[1])


@pytest.mark.parametrize("quiet", [False, True])
def test_serve_writes_an_access_line_per_request_and_a_line_when_it_stops(tmp_path, quiet):
    """A real process: it is stopped by SIGTERM, as a service manager stops it."""
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request

    from store import open_store
    from tests.conftest import CLI_ENV

    open_store(path=tmp_path / "q").close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, str(ROOT / "cli.py"), "--storage", str(tmp_path / "q"), "serve", "--port", str(port)]
    served = subprocess.Popen(
        command + (["--quiet"] if quiet else []),
        cwd=tmp_path,
        env=CLI_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "serving" in served.stdout.readline()
        for _ in range(100):
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).status == 200
                break
            except OSError:
                time.sleep(0.1)
        served.send_signal(signal.SIGTERM)
        _, err = served.communicate(timeout=60)
    finally:
        served.kill()
    assert served.returncode == 128 + signal.SIGTERM
    assert err.strip().endswith("serve stopped: SIGTERM"), err
    assert bool(re.search(r"^GET / 200 \d+ ms$", err, re.M)) is not quiet, err
