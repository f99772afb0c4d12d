"""``fedsim-playground --class`` (issue #24): serves the classroom network and opens the
projector view of a new live class once the server answers."""

from __future__ import annotations

import socket
import webbrowser

from fedsim_app import launch


def test_class_flag_serves_the_network_unless_a_host_is_given():
    args = launch.parser().parse_args(["--class"])
    assert args.live_class and args.host is None  # resolved to 0.0.0.0 in main
    args = launch.parser().parse_args(["--class", "--host", "127.0.0.1"])
    assert args.host == "127.0.0.1"
    assert launch.class_url(8765) == "http://localhost:8765/live?start=1"


def test_the_projector_opens_once_the_server_answers(monkeypatch):
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        port = srv.getsockname()[1]
        t = launch.open_when_up("http://localhost/x", port, timeout=5)
        t.join(1.0)
        assert opened == []  # nothing listens yet
        srv.listen()
        t.join(10)
    assert opened == ["http://localhost/x"]


def test_main_with_class_prints_where_the_projector_is(monkeypatch, capsys):
    calls = {}
    monkeypatch.setattr(launch, "open_when_up", lambda u, p: calls.setdefault("open", u))
    monkeypatch.setattr(launch, "port_free", lambda h, p: True)
    monkeypatch.setattr(launch, "banner", lambda h, p: calls.setdefault("host", h))

    import streamlit.web.bootstrap as bootstrap

    monkeypatch.setattr(bootstrap, "load_config_options", lambda flag_options: calls.update(
        options=flag_options))
    monkeypatch.setattr(bootstrap, "run", lambda *a, **k: None)
    assert launch.main(["--class", "--port", "8799"]) == 0
    assert calls["host"] == "0.0.0.0"
    assert calls["open"] == "http://localhost:8799/live?start=1"
    assert calls["options"]["server.headless"] is True  # Streamlit would open the Overview
    assert "live?start=1" in capsys.readouterr().out
