"""Start the app: ``fedsim-playground`` (the installed command), ``python -m fedsim_app``,
``make run``.

Pure Python, the way ``streamlit hello`` starts its own app (``streamlit/web/cli.py``,
``_main_run``): the main script is :mod:`fedsim_app.server.streamlit_app` inside the installed
package, so Streamlit reads ``fedsim_app/server/.streamlit/config.toml`` beside it (no file watcher,
20 MB uploads, minimal toolbar, no usage statistics) wherever the package lives and whatever the
working folder is. No checkout, no ``make``, no shell: the same on Windows.

Before the server starts, it prints the local address and, with ``--host 0.0.0.0``, this
machine's address on the local network with its QR code in the terminal (students scan it).
The network address is found without sending anything (a UDP socket's ``connect`` only picks a
route); nothing is downloaded.

Another command can reuse it in one line: ``return launch.main(argv, prog="fedsim app")``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.util
import ipaddress
import os
import pathlib
import socket
import sys
import threading
import time
from typing import Sequence, TextIO

#: The main script Streamlit runs (and whose folder holds ``.streamlit/config.toml``).
MAIN_SCRIPT = pathlib.Path(__file__).resolve().parent / "server" / "streamlit_app.py"
DEFAULT_PORT = 8501
#: Addresses that mean "every interface of this machine".
WILDCARD = ("0.0.0.0", "::", "")
#: Must match :data:`fedsim_app.i18n.LANGS` and :data:`fedsim_app.i18n.ENV` (not imported:
#: starting the server should not load the app's modules in the launcher first).
LANGS = ("zh", "en")
LANG_ENV = "FEDSIM_LANG"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # bad input: one line naming the flag, exit 2 (no usage block)
        self.exit(2, f"{self.prog}: error: {message}\n")


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = _Parser(
        prog=prog or "fedsim-playground",
        description="Start the fedsim federated-learning playground (a Streamlit app) and open "
                    "it in the browser.")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT,
                   help=f"TCP port to serve on (default {DEFAULT_PORT})")
    p.add_argument("--host", default=None,
                   help="address to listen on: localhost (default: this computer only) or "
                        "0.0.0.0 (every network interface: students in the same network; "
                        "the default with --class)")
    p.add_argument("--class", dest="live_class", action="store_true",
                   help="run a live class: serve the classroom network (--host 0.0.0.0 unless "
                        "given) and open the projector view with a new class's join QR code")
    p.add_argument("--lang", choices=LANGS, default=None,
                   help="language of every new session whose link has no ?lang= "
                        "(default: each browser's language; students can still switch)")
    p.add_argument("--headless", action="store_true",
                   help="do not open a browser (a server, or a terminal without a desktop)")
    p.add_argument("--show-config", action="store_true",
                   help="print the classroom limits in force and where each came from (a flag, "
                        "an environment variable, the settings file or the default), then exit")
    caps = p.add_argument_group("classroom limits (each student's session; see --show-config)")
    for name in CAPS:
        caps.add_argument("--" + name.replace("_", "-"), type=_positive, default=None,
                          metavar="N", dest=name)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    return p


#: The caps a flag may set (the fields of :class:`fedsim_app.base.limits.Limits`; listed, not
#: imported, so that ``--help`` does not load the app).
CAPS = ("max_clients", "max_samples", "max_hidden", "max_rounds", "max_epochs",
        "max_work_mflop", "max_memory_mb", "max_round_seconds")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text[:40]!r}; allowed: a whole number >= 1")
    return value


def show_config(args: argparse.Namespace, out: TextIO = sys.stdout) -> None:
    """The limits in force and where each came from, and the settings file's path."""
    from fedsim_app.base import limits

    flags = {name: getattr(args, name) for name in CAPS}
    caps, sources = limits.load_with_sources(flags=flags)
    path = limits.settings_file()
    print(f"settings file: {path} ({'found' if path.is_file() else 'not found'})", file=out)
    for name in CAPS:
        print(f"{name:<18} {getattr(caps, name):>10,}   from {sources[name]}", file=out)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1-65535")
    return port


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("fedsim-playground")
    except Exception:  # noqa: BLE001 - a checkout that is not installed under that name
        return "(not installed)"


def url(host: str, port: int) -> str:
    """``http://host:port/`` (an IPv6 literal in brackets)."""
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    return f"http://{host}:{port}/"


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses on the local network, best first, loopback excluded.

    First the address of the interface a route to a private address would leave from (a UDP
    ``connect`` sends no packet), then what the host name resolves to. Empty without a network.
    """
    found: list[str] = []

    def add(ip: str) -> None:
        with contextlib.suppress(ValueError):
            a = ipaddress.ip_address(ip)
            if not (a.is_loopback or a.is_unspecified or a.is_link_local) and ip not in found:
                found.append(ip)

    with contextlib.suppress(OSError):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            add(s.getsockname()[0])
    with contextlib.suppress(OSError, UnicodeError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            add(str(info[4][0]))
    return found


def qr(text: str, out: TextIO) -> bool:
    """``text`` as a QR code drawn with block characters; False if the terminal cannot show
    them (an encoding without them)."""
    import io

    import segno

    buf = io.StringIO()
    segno.make(text).terminal(out=buf, compact=True)
    try:
        out.write(buf.getvalue())
        out.flush()
    except UnicodeEncodeError:
        return False
    return True


def banner(host: str, port: int, out: TextIO = sys.stdout) -> None:
    """Where the app will be: the local address; on a network interface, the students' address
    and its QR code."""
    everywhere = host in WILDCARD
    local = url("localhost" if everywhere else host, port)
    print(f"fedsim playground: {local}", file=out)
    lan: list[str] = []
    if everywhere:
        lan = [url(ip, port) for ip in lan_addresses()]
    elif not _is_loopback(host):
        lan = [local]
    for address in lan:
        print(f"  students (same network): {address}", file=out)
    if everywhere and not lan:
        print("  no network address found: students cannot reach this computer", file=out)
    if lan and not qr(lan[0], out):
        print("  (this terminal cannot draw the QR code)", file=out)
    if everywhere:
        print(f"  (if they cannot connect, allow port {port} in this computer's firewall)",
              file=out)
    print("  Ctrl-C stops it.", file=out)
    out.flush()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False


def class_url(port: int) -> str:
    """The projector's address for ``--class``: the Live class page, starting a class (the
    browser is on this computer, the only place a class may be started from by default)."""
    return url("localhost", port) + "live?start=1"


def open_when_up(address: str, port: int, timeout: float = 120.0) -> threading.Thread:
    """Open ``address`` in the browser once the server accepts connections on ``port``."""
    import webbrowser

    def wait_then_open() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                    webbrowser.open(address)
                    return
            time.sleep(0.3)

    t = threading.Thread(target=wait_then_open, name="fedsim-open-class", daemon=True)
    t.start()
    return t


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (checked by binding it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if os.name == "posix":  # as a server does: a recent connection's TIME_WAIT is no obstacle
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            # Anything else (a name that does not resolve, a privileged port): Streamlit says.
            return exc.errno not in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1))
    return True


def tensorflow_installed() -> bool:
    """Whether ``import tensorflow`` can find it (without importing it: seconds)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):  # ValueError: a None in sys.modules (blocked)
        return False


def flag_options(args: argparse.Namespace) -> dict:
    """Streamlit settings from the command line (the rest come from the config.toml)."""
    return {
        "server.port": args.port,
        "server.address": args.host,
        "server.headless": bool(args.headless),
        # The URLs are printed above, the LAN one with its QR code; Streamlit's own welcome
        # would repeat them and, headless, look up a public address on the internet.
        "logger.hideWelcomeMessage": True,
    }


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Parse ``argv``, print the addresses and serve until Ctrl-C (or SIGTERM): exit code 0."""
    args = parser(prog).parse_args(argv)
    name = prog or "fedsim-playground"
    if args.host is None:
        args.host = "0.0.0.0" if args.live_class else "localhost"
    if args.show_config:
        show_config(args)
        return 0
    for cap in CAPS:  # the server's sessions read the caps from the environment
        if getattr(args, cap) is not None:
            os.environ["FEDSIM_" + cap.upper()] = str(getattr(args, cap))
    if args.lang:
        os.environ[LANG_ENV] = args.lang  # read by fedsim_app.i18n for each new session
    if not tensorflow_installed():  # the app still starts: Overview, Lessons, Data need none
        from fedsim.errors import TENSORFLOW_MISSING

        print(f"{name}: warning: {TENSORFLOW_MISSING}", file=sys.stderr)
    if not port_free(args.host, args.port):
        print(f"{name}: error: port {args.port} is in use on {args.host}: "
              "choose another with --port", file=sys.stderr)
        return 2
    banner(args.host, args.port)

    from streamlit import config as st_config
    from streamlit.web import bootstrap

    options = flag_options(args)
    if args.live_class:
        print(f"  live class: the projector view opens at {class_url(args.port)}", flush=True)
        if not args.headless:  # Streamlit would open the Overview: open the class instead
            options["server.headless"] = True
            open_when_up(class_url(args.port), args.port)
    st_config._main_script_path = str(MAIN_SCRIPT)  # config.toml is read beside it
    bootstrap.load_config_options(flag_options=options)
    bootstrap.run(str(MAIN_SCRIPT), False, [], options)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
