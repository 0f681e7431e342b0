"""The `linkup-emulator` console script: settings from flags over EMULATOR_* env, then uvicorn."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import sys
import tempfile
from collections.abc import Sequence

from pydantic import SecretStr, ValidationError

from linkup_emulator import __version__
from linkup_emulator.settings import ENV_PREFIX, Settings, explain


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkup-emulator",
        description="Emulates LinkupAPI's v2 POST /v2/network recommendations. Each flag overrides "
        "its EMULATOR_* environment variable.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"linkup-emulator {__version__}")
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        if isinstance(default, list):
            default = ",".join(default) or "none"
        elif default is None:
            default = "unset"
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            default=argparse.SUPPRESS,
            metavar=name.upper(),
            help=f"{field.description} (env {ENV_PREFIX}{name.upper()}; default: {default})",
        )
    return parser


def load_settings(argv: Sequence[str] | None = None) -> Settings:
    """Flags beat the environment, which beats the defaults; a bad value exits with one line."""
    given = vars(_parser().parse_args(argv))
    try:
        return Settings(**given)
    except ValidationError as error:
        sys.exit(explain(error))


def _export(settings: Settings) -> None:
    """Worker processes rebuild Settings from the environment, so every flag is handed down."""
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            os.environ.pop(f"{ENV_PREFIX}{name.upper()}", None)
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = ",".join(value)
        os.environ[f"{ENV_PREFIX}{name.upper()}"] = str(value)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound as uvicorn binds it; a port in use or an unknown host is one
    line naming the setting (uvicorn would log its error, then exit with status 3)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        sys.exit(f"linkup-emulator: cannot listen on --host {host} --port {port}: {reason}")
    sock.set_inheritable(True)  # the worker processes serve it too
    return sock


FD_RESERVE = 64  # descriptors kept for the store, logs and the metrics' files


def raise_open_files() -> int:
    """The open-file soft limit raised to the hard one (1024 is a common soft default: as
    many idle sockets and every new client met "connection reset"); the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):  # a platform that refuses it keeps its limit
            pass
    return soft


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(argv)
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from linkup_emulator.main import build, long_lived, run_sync
    from linkup_emulator.server import EnvelopeHttpToolsProtocol, Server

    open_files = raise_open_files()
    if settings.max_connections > open_files - FD_RESERVE:
        settings = settings.model_copy(update={"max_connections": max(1, open_files - FD_RESERVE)})
        sys.stderr.write(
            f"linkup-emulator: --max-connections lowered to {settings.max_connections}:"
            f" the open-file limit is {open_files}\n"
        )
    _export(settings)
    metrics_dir = None
    if settings.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Metrics add up across workers through files in this folder (prometheus-client's way).
        metrics_dir = tempfile.mkdtemp(prefix="emulator-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    # Built once here so a bad fixture or state path stops the start before any worker forks.
    app = build(settings)
    config = uvicorn.Config(
        "linkup_emulator.main:app" if settings.workers > 1 else app,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,  # one structured line per request comes from the app instead
        http=EnvelopeHttpToolsProtocol,  # its malformed-request 400 in the envelope too
        ws="none",  # no WebSocket route exists: an Upgrade header is just a header
        server_header=False,
        # Docker kills 10 s after SIGTERM: requests in flight get this long, then the store
        # is closed cleanly (a delayed request could otherwise hold the stop for 30 s).
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
    )
    sock = _listen(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, bracketed as URLs want
    sys.stdout.write(f"linkup-emulator listening on http://{host}:{port}\n")
    sys.stdout.flush()
    if settings.workers > 1:
        run_sync(app.state.emulator.store.close())  # the workers open their own
        try:
            Multiprocess(config, sockets=[sock]).run()
        finally:
            if metrics_dir is not None:
                shutil.rmtree(metrics_dir, ignore_errors=True)
    else:
        long_lived()
        Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
