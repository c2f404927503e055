"""Every service runs in its own process with only its own private key (DESIGN.md, Trust 1).

Keys are made per party with ``oretrail keys``, the pinned registries exported from
the public files only; each node and the gateway is started with ``oretrail serve``
under an audit hook that records every file the process opens; the demo trace runs
through them; then no process may have opened a private key but its own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CONFIG_DIR, PACK, ROOT, SEED_DIR, free_port

pytestmark = pytest.mark.e2e


def oretrail(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oretrail", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def separate_processes(tmp_path: Path) -> Iterator[tuple[Path, Path, str, dict[str, Path]]]:
    """The sample federation, each service its own process under the open-file hook."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    ports = {path.stem: free_port() for path in SEED_DIR.glob("*.toml")}
    registry = (config / "registry.toml").read_text(encoding="utf-8")
    for org, port in ports.items():
        registry = re.sub(
            rf'(id = "{org}"\n(?:.*\n)*?endpoint = )"[^"]*"',
            rf'\1"http://127.0.0.1:{port}/graphql"',
            registry,
            count=1,
        )
        registry = registry.replace(f'"../graph/seed/{org}.toml"', f'"{SEED_DIR / org}.toml"')
    (config / "registry.toml").write_text(registry, encoding="utf-8")
    gateway_settings = (config / "gateway.toml").read_text(encoding="utf-8")
    (config / "gateway.toml").write_text(
        gateway_settings.replace('data_dir = "var/gateway"', f'data_dir = "{tmp_path / "model"}"'),
        encoding="utf-8",
    )
    keys = tmp_path / "keys"
    base = ("--config", str(config))
    for step in (
        ("keys", "generate", "--dir", str(keys)),
        ("keys", "export", "--dir", str(keys)),
        ("approved", "approve", "--org", "nordvolt", "--keys", str(keys)),
        ("approved", "sign-roots", "--org", "nordvolt", "--keys", str(keys)),
        ("keys", "certify", "--org", "nordvolt", "--sub", "ann", "--dir", str(keys)),
    ):
        done = oretrail(*base, *step)
        assert done.returncode == 0, (step, done.stderr)
    opened: dict[str, Path] = {}
    processes = []
    gateway_port = free_port()
    services: dict[str, tuple[str, ...]] = {
        org: ("serve", "node", "--org", org, "--keys", str(keys), "--log-dir", str(tmp_path))
        for org in ports
    }
    services["gateway"] = ("serve", "gateway", "--keys", str(keys), "--port", str(gateway_port))
    try:
        for party, args in services.items():
            opened[party] = tmp_path / f"opened-{party}.txt"
            command = [sys.executable, "-m", "tests.support.open_audit", str(opened[party])]
            processes.append(
                subprocess.Popen(
                    [*command, *base, *args],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        urls = [f"http://127.0.0.1:{p}/health" for p in [*ports.values(), gateway_port]]
        deadline = time.monotonic() + 120
        while not all(healthy(url) for url in urls):
            assert time.monotonic() < deadline, "the services did not start within 120 s"
            assert all(p.poll() is None for p in processes), "a service stopped while starting"
            time.sleep(0.5)
        yield config, keys, f"http://127.0.0.1:{gateway_port}/graphql", opened
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


def test_each_service_opens_only_its_own_private_key(
    separate_processes: tuple[Path, Path, str, dict[str, Path]],
) -> None:
    config, keys, gateway, opened = separate_processes
    user = keys / "nordvolt" / "users" / "ann.pem"
    trace = oretrail(
        "--config", str(config), "trace", PACK, "--gateway", gateway, "--user", str(user)
    )
    assert trace.returncode == 0, trace.stderr
    assert "Kasulo artisanal mining site" in trace.stdout
    for party, log in opened.items():
        private = {
            Path(line).resolve()
            for line in log.read_text(encoding="utf-8").splitlines()
            if line.endswith(".pem")
        }
        names = ["gateway.pem"] if party == "gateway" else ["node.pem", "node-enc.pem"]
        own = {(keys / party / name).resolve() for name in names}
        assert private == own, party
