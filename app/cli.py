"""The `linkup-emulator` console script: settings from flags over EMULATOR_* env, then uvicorn."""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Sequence

from pydantic import SecretStr, ValidationError

from app import __version__
from app.fixtures import FixtureError
from app.settings import Settings

ENV_PREFIX = "EMULATOR_"


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


def _explain(error: ValidationError) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    # A model-level check (workers vs. state) has no field, and pydantic prefixes its message.
    where = f" --{name.replace('_', '-')} / {ENV_PREFIX}{name.upper()}" if name else "s"
    message = first["msg"].removeprefix("Value error, ")
    return f"linkup-emulator: invalid setting{where}: {message}"


def load_settings(argv: Sequence[str] | None = None) -> Settings:
    """Flags beat the environment, which beats the defaults; a bad value exits with one line."""
    given = vars(_parser().parse_args(argv))
    try:
        return Settings(**given)
    except ValidationError as error:
        sys.exit(_explain(error))


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


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(argv)
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from app.main import create_app, long_lived
    from app.server import EnvelopeHttpToolsProtocol

    _export(settings)
    metrics_dir = None
    if settings.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Metrics add up across workers through files in this folder (prometheus-client's way).
        metrics_dir = tempfile.mkdtemp(prefix="emulator-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        # Built once here so a bad fixture or state path stops the start before any worker forks.
        app = create_app(settings)
    except FixtureError as error:
        sys.exit(f"linkup-emulator: {error}")
    except sqlite3.Error as error:
        sys.exit(f"linkup-emulator: cannot open the state {settings.state}: {error}")
    config = uvicorn.Config(
        "app.main:app" if settings.workers > 1 else app,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,  # one structured line per request comes from the app instead
        http=EnvelopeHttpToolsProtocol,  # its malformed-request 400 in the envelope too
        ws="none",  # no WebSocket route exists: an Upgrade header is just a header
        server_header=False,
    )
    sock = config.bind_socket()
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, bracketed as URLs want
    sys.stdout.write(f"linkup-emulator listening on http://{host}:{port}\n")
    sys.stdout.flush()
    if settings.workers > 1:
        app.state.emulator.store.close()  # the workers open their own
        try:
            Multiprocess(config, sockets=[sock]).run()
        finally:
            if metrics_dir is not None:
                shutil.rmtree(metrics_dir, ignore_errors=True)
    else:
        long_lived()
        uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
