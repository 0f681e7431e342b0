"""The `linkup-emulator` console script: help, flags over env over defaults, failures, starts."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from linkup_emulator.cli import load_settings
from linkup_emulator.main import create_app
from linkup_emulator.resources import DEFAULT_FIXTURES
from linkup_emulator.settings import Settings
from tests.support.http import Response
from tests.support.servers import free_port, recommendations, running

SCRIPT = Path(sys.executable).parent / "linkup-emulator"

# Every setting, its default as a Python value and as --help prints it (README, "Configuration").
DEFAULTS: dict[str, tuple[Any, str]] = {
    "host": ("127.0.0.1", "127.0.0.1"),
    "port": (8000, "8000"),
    "workers": (1, "1"),
    "seed": ("linkup", "linkup"),
    "fixtures": (DEFAULT_FIXTURES, str(DEFAULT_FIXTURES)),
    "state": (":memory:", ":memory:"),
    "admin_token": (None, "unset"),
    "journal_size": (10_000, "10000"),
    "rate_limit": (300, "300"),
    "log_level": ("info", "info"),
    "clock": ("system", "system"),
    "cors_origins": ([], "none"),
    "redis_prefix": ("linkup:", "linkup:"),
    "allowed_hosts": (
        ["localhost", "*.localhost", "emulator", "testserver"],
        "localhost,*.localhost,emulator,testserver",
    ),
    "max_connections": (2048, "2048"),
    "head_timeout_s": (10.0, "10.0"),
    "write_timeout_s": (30.0, "30.0"),
    "shutdown_timeout_s": (5, "5"),
    "people_cache_mb": (64, "64"),
    "webhook_hosts": (["127.0.0.1", "localhost"], "127.0.0.1,localhost"),
    "webhook_retry_base_s": (1.0, "1.0"),
    "webhook_timeout_s": (5.0, "5.0"),
    "webhook_sweep_s": (2.0, "2.0"),
}

# A tenant without its own rate limit, so it reports the server's EMULATOR_RATE_LIMIT.
FIXTURE = """\
tenants:
  - api_key: cli_key
    credits: 100
    accounts:
      - account_id: acc_cli
        account_name: CLI Account
        country: US
"""


def env_var(name: str) -> str:
    return f"EMULATOR_{name.upper()}"


def flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def emulator_env(**settings: str) -> dict[str, str]:
    """This test's environment (conftest cleared EMULATOR_*), quiet logs, plus these settings."""
    return {**os.environ, "EMULATOR_LOG_LEVEL": "warning", **settings}


def profile_urls(response: Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [person["profile_url"] for person in response.json()["data"]["recommendations"]]


@pytest.fixture
def fixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(FIXTURE, encoding="utf-8")
    return path


# --help ---------------------------------------------------------------------------------------


def test_the_defaults_table_covers_every_setting() -> None:
    assert set(DEFAULTS) == set(Settings.model_fields)


@pytest.mark.slow
def test_help_lists_every_setting_with_its_env_var_and_default() -> None:
    # A wide terminal, so argparse never breaks a long default (the fixtures path) mid-word.
    result = subprocess.run(
        [str(SCRIPT), "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "1000"},
        timeout=30,
        check=True,
    )
    text = " ".join(result.stdout.split())
    for name, (_, shown) in DEFAULTS.items():
        assert f"{flag(name)} {name.upper()} " in text, name
        assert f"(env {env_var(name)}; default: {shown})" in text, name


@pytest.mark.slow
def test_version_names_the_program() -> None:
    result = subprocess.run(
        [str(SCRIPT), "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    assert re.fullmatch(r"linkup-emulator \d+\.\d+\.\d+\S*\n", result.stdout)


# precedence: flag > env > default ----------------------------------------------------------------

# (setting, env value, parsed, flag value, parsed, other env the case needs)
PRECEDENCE = [
    ("host", "0.0.0.0", "0.0.0.0", "127.0.0.2", "127.0.0.2", {}),
    ("port", "9001", 9001, "9002", 9002, {}),
    ("workers", "3", 3, "2", 2, {"EMULATOR_STATE": "shared.sqlite3"}),
    ("seed", "from-env", "from-env", "from-flag", "from-flag", {}),
    ("fixtures", "env.yaml", Path("env.yaml"), "flag.yaml", Path("flag.yaml"), {}),
    ("state", "env.sqlite3", "env.sqlite3", "flag.sqlite3", "flag.sqlite3", {}),
    ("journal_size", "50", 50, "60", 60, {}),
    ("rate_limit", "0", 0, "7", 7, {}),
    ("log_level", "DEBUG", "debug", "error", "error", {}),
    ("cors_origins", "https://a.test, https://b.test", ["https://a.test", "https://b.test"],
     "*", ["*"], {}),
]  # fmt: skip


def test_without_env_or_flags_every_setting_is_its_default() -> None:
    settings = load_settings([])
    for name, (default, _) in DEFAULTS.items():
        assert getattr(settings, name) == default, name


@pytest.mark.parametrize(
    ("name", "env", "from_env", "given", "from_flag", "extra"),
    PRECEDENCE,
    ids=[case[0] for case in PRECEDENCE],
)
def test_a_flag_beats_the_env_which_beats_the_default(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    env: str,
    from_env: object,
    given: str,
    from_flag: object,
    extra: dict[str, str],
) -> None:
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(env_var(name), env)
    assert getattr(load_settings([]), name) == from_env
    assert getattr(load_settings([flag(name), given]), name) == from_flag


def test_admin_token_from_env_or_flag_and_empty_means_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMULATOR_ADMIN_TOKEN", "env-token")
    token = load_settings([]).admin_token
    assert token is not None
    assert token.get_secret_value() == "env-token"
    token = load_settings(["--admin-token", "flag-token"]).admin_token
    assert token is not None
    assert token.get_secret_value() == "flag-token"
    # compose passes ${EMULATOR_ADMIN_TOKEN:-}: an empty value leaves the control plane open.
    monkeypatch.setenv("EMULATOR_ADMIN_TOKEN", "")
    assert load_settings([]).admin_token is None


def test_the_flag_given_wins_even_over_a_bad_env_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_PORT", "not-a-port")
    assert load_settings(["--port", "8123"]).port == 8123


# bad values stop the start -----------------------------------------------------------------------

BAD_SETTINGS = [
    pytest.param(["--port", "70000"], {}, "--port / EMULATOR_PORT", id="port-too-big"),
    pytest.param(["--port", "http"], {}, "--port / EMULATOR_PORT", id="port-not-a-number"),
    pytest.param([], {"EMULATOR_WORKERS": "0"}, "--workers / EMULATOR_WORKERS", id="no-workers"),
    pytest.param(["--log-level", "loud"], {}, "--log-level / EMULATOR_LOG_LEVEL", id="log-level"),
    pytest.param(["--workers", "2"], {}, "needs a file state", id="workers-with-memory"),
    pytest.param(["--journal-size", "0"], {}, "--journal-size", id="journal-size"),
    pytest.param(["--rate-limit", "-1"], {}, "--rate-limit", id="rate-limit"),
    pytest.param(["--seed", ""], {}, "--seed / EMULATOR_SEED", id="empty-seed"),
    pytest.param(
        ["--redis-prefix", "a{b}:"], {}, "--redis-prefix / EMULATOR_REDIS_PREFIX", id="prefix"
    ),
]


@pytest.mark.parametrize(("argv", "env", "names"), BAD_SETTINGS)
def test_a_bad_setting_exits_with_one_line(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str], names: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(argv)
    message = exit_info.value.code
    assert isinstance(message, str)  # sys.exit(str) prints it to stderr and exits 1
    assert message.startswith("linkup-emulator: invalid setting")
    assert names in message
    assert "\n" not in message
    assert "Value error" not in message


def _broken_fixture(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "broken.yaml"
    path.write_text("tenants:\n  - credits: 5\n    accounts: []\n", encoding="utf-8")
    return {"EMULATOR_FIXTURES": str(path)}


def _unparsable_fixture(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "unparsable.yaml"
    path.write_text("tenants: [\n  - api_key: x\n", encoding="utf-8")
    return {"EMULATOR_FIXTURES": str(path)}


def _state_in_missing_folder(tmp_path: Path) -> dict[str, str]:
    return {"EMULATOR_STATE": str(tmp_path / "missing" / "state.sqlite3")}


def _state_not_sqlite(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "state.sqlite3"
    path.write_text("not a database, just text\n" * 100, encoding="utf-8")
    return {"EMULATOR_STATE": str(path)}


def _redis_nobody_listens(_: Path) -> dict[str, str]:
    return {"EMULATOR_STATE": f"redis://:secret@127.0.0.1:{free_port()}/0"}


def _redis_url_malformed(_: Path) -> dict[str, str]:
    return {"EMULATOR_STATE": "redis://127.0.0.1:notaport/0"}


START_FAILURES = [
    pytest.param(["--port", "70000"], None, "EMULATOR_PORT", id="port-too-big"),
    pytest.param([], {"EMULATOR_WORKERS": "0"}, "EMULATOR_WORKERS", id="env-workers-0"),
    pytest.param(["--log-level", "loud"], None, "EMULATOR_LOG_LEVEL", id="log-level"),
    pytest.param(["--workers", "2"], None, "needs a file state", id="workers-with-memory"),
    pytest.param([], _broken_fixture, "broken.yaml: tenants[0].api_key", id="fixture-invalid"),
    pytest.param([], _unparsable_fixture, "unparsable.yaml: cannot be read", id="fixture-yaml"),
    pytest.param([], _state_in_missing_folder, "state.sqlite3", id="state-folder-missing"),
    pytest.param([], _state_not_sqlite, "state.sqlite3", id="state-not-sqlite"),
    pytest.param([], _redis_nobody_listens, "cannot reach Redis at redis://:***@", id="redis-down"),
    pytest.param([], _redis_url_malformed, "malformed Redis URL", id="redis-url"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "env", "mentions"), START_FAILURES)
def test_the_console_script_refuses_to_start_with_one_line(
    tmp_path: Path, argv: list[str], env: Any, mentions: str
) -> None:
    extra = env(tmp_path) if callable(env) else env or {}
    port = [] if "--port" in argv else ["--port", "0"]
    result = subprocess.run(
        [str(SCRIPT), "--host", "127.0.0.1", *port, *argv],
        capture_output=True,
        text=True,
        env=emulator_env(**extra),
        timeout=30,
    )
    assert result.returncode != 0
    assert result.stdout == ""  # never got as far as listening
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("linkup-emulator: ")
    assert mentions in lines[0]


@pytest.mark.slow
def test_a_port_in_use_or_an_unknown_host_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        # 192.0.2.1 is TEST-NET-1: never an address of this machine, and no DNS involved.
        for host, reason in (
            ("127.0.0.1", "Address already in use"),
            ("192.0.2.1", "Cannot assign requested address"),
        ):
            result = subprocess.run(
                [str(SCRIPT), "--host", host, "--port", port],
                capture_output=True,
                text=True,
                env=emulator_env(),
                timeout=30,
            )
            assert result.returncode == 1
            assert result.stdout == ""
            (line,) = result.stderr.splitlines()
            assert line.startswith(f"linkup-emulator: cannot listen on --host {host} --port {port}")
            assert reason in line


@pytest.mark.slow
@pytest.mark.parametrize(
    "env",
    [_broken_fixture, _state_not_sqlite, lambda _: {"EMULATOR_RATE_LIMIT": "-1"}],
    ids=["fixture", "state", "setting"],
)
def test_uvicorn_app_main_app_refuses_to_start_with_one_line(tmp_path: Path, env: Any) -> None:
    """`uvicorn linkup_emulator.main:app` builds the app on import: one line, not a traceback."""
    command = [sys.executable, "-m", "uvicorn", "linkup_emulator.main:app", "--port", "0"]
    result = subprocess.run(
        command, capture_output=True, text=True, env=emulator_env(**env(tmp_path)), timeout=30
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("linkup-emulator: ")


# real starts -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_port_0_prints_the_real_port_and_it_answers(tmp_path: Path) -> None:
    command = [str(SCRIPT), "--host", "127.0.0.1", "--port", "0"]
    with running(command, emulator_env(), tmp_path / "stderr.log") as client:
        assert client.base_url.host == "127.0.0.1"
        assert client.base_url.port not in (None, 0)
        health = client.get("/_emulator/health").json()
        assert health["status"] == "ok"
        assert health["store"] == "memory"
        assert recommendations(client, "demo_key", "acc_demo").status_code == 200


@pytest.mark.slow
def test_an_env_driven_start_is_honoured_by_the_server(tmp_path: Path, fixture_file: Path) -> None:
    env = emulator_env(
        EMULATOR_HOST="127.0.0.1",
        EMULATOR_PORT="0",
        EMULATOR_SEED="env-seed",
        EMULATOR_RATE_LIMIT="7",
        EMULATOR_FIXTURES=str(fixture_file),
        EMULATOR_STATE=str(tmp_path / "state.sqlite3"),
    )
    with running([str(SCRIPT)], env, tmp_path / "stderr.log") as client:
        assert client.get("/_emulator/health").json()["store"] == "file"
        assert client.get("/_emulator/keys/cli_key").json()["rate_limit"] == 7
        assert client.get("/_emulator/keys/demo_key").status_code == 404  # only our fixture
        live = profile_urls(recommendations(client, "cli_key", "acc_cli"))
    assert (tmp_path / "state.sqlite3").is_file()
    assert live == _in_process_urls(fixture_file, "env-seed")
    assert live != _in_process_urls(fixture_file, "linkup")


def _in_process_urls(fixtures: Path, seed: str) -> list[str]:
    app = create_app(Settings(seed=seed, fixtures=fixtures, log_level="warning"))
    with TestClient(app) as client:
        return profile_urls(recommendations(client, "cli_key", "acc_cli"))


@pytest.mark.slow
def test_flags_reach_every_worker(tmp_path: Path, fixture_file: Path) -> None:
    """Workers rebuild their settings from the environment: each flag must be handed down.

    With several workers the supervisor serves nothing itself, so every answer is a worker's.
    """
    command = [
        str(SCRIPT),
        "--host", "127.0.0.1",
        "--port", "0",
        "--workers", "2",
        "--state", str(tmp_path / "state.sqlite3"),
        "--fixtures", str(fixture_file),
        "--seed", "flag-seed",
        "--rate-limit", "9",
    ]  # fmt: skip
    with running(command, emulator_env(), tmp_path / "stderr.log") as client:
        fresh = {"connection": "close"}  # a new connection each time, spread over the workers
        reports = [client.get("/_emulator/keys/cli_key", headers=fresh).json() for _ in range(6)]
        live = profile_urls(recommendations(client, "cli_key", "acc_cli"))
    assert {report["rate_limit"] for report in reports} == {9}
    assert live == _in_process_urls(fixture_file, "flag-seed")


@pytest.mark.slow
def test_uvicorn_app_main_app_still_works(tmp_path: Path, fixture_file: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "linkup_emulator.main:app", "--host", "127.0.0.1"]
    env = emulator_env(EMULATOR_RATE_LIMIT="11", EMULATOR_FIXTURES=str(fixture_file))
    base_url = f"http://127.0.0.1:{port}"
    with running([*command, "--port", str(port)], env, tmp_path / "stderr.log", base_url) as client:
        assert client.get("/_emulator/health").json()["status"] == "ok"
        assert client.get("/_emulator/keys/cli_key").json()["rate_limit"] == 11
        assert recommendations(client, "cli_key", "acc_cli").status_code == 200
