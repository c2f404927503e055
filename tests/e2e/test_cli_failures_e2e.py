"""Every kind of CLI failure found: one line on stderr, no traceback, exit status 2.

The kinds, each with a test below: a usage error; a port out of range; an address
that cannot be bound (taken, or not a host); a Neo4j URI of another protocol; a
--gateway that is not a URL; a gateway that is down, or stuck past --timeout; a
file that does not exist, is not UTF-8, or a directory that cannot be made; a
config typo (unknown key) or out-of-range value, named by file and key; a
--token-file that is missing or malformed. Beside them: an interrupt (one line,
status 130, the trace not recorded), output into a closed pipe (quiet, status 141),
--json (JSON alone on stdout) and --progress (progress lines on stderr only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from oretrail.auth.party_keys import FederationKeys
from oretrail.bootstrap import Federation, approve_as_members
from tests.conftest import PACK, ROOT, graphql, served_federation
from tests.support.node_wrappers import real_node
from tests.support.trust import edited_sample

pytestmark = pytest.mark.e2e

HISTORY = "{ traceHistory { id root } }"


def oretrail(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oretrail", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def assert_one_line_failure(run: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit status 2, stdout empty, and stderr exactly one line naming the problem."""
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("oretrail: ")
    assert message in lines[0], lines[0]
    assert run.stdout == ""


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys and pinned registries for every party, as `oretrail keys` writes them."""
    directory = tmp_path_factory.mktemp("keys")
    assert oretrail("keys", "generate", "--dir", str(directory)).returncode == 0
    assert oretrail("keys", "export", "--dir", str(directory)).returncode == 0
    return directory


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on and never answers (a stuck server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def user_key(tmp_path: Path) -> str:
    return str(FederationKeys.generate(["nordvolt"]).user("nordvolt").save(tmp_path))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-command"], "invalid choice: 'no-such-command'"),
        (["trace"], "the following arguments are required: lot"),
        (["schema", "nodes"], "invalid choice: 'nodes'"),
    ],
)
def test_a_usage_error_is_one_line(args: list[str], message: str) -> None:
    assert_one_line_failure(oretrail(*args), message)


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_a_port_out_of_range_is_refused(port: str) -> None:
    run = oretrail("serve", "gateway", "--port", port)
    assert_one_line_failure(run, "argument --port")


def test_a_port_that_is_taken_is_named(keys_dir: Path, busy_port: int) -> None:
    run = oretrail(
        "serve", "node", "--org", "kasulo-coop", "--keys", str(keys_dir), "--port", str(busy_port)
    )
    assert_one_line_failure(run, f"cannot listen on 127.0.0.1:{busy_port}: Address already in use")


def test_a_host_that_is_not_an_address_is_named(keys_dir: Path) -> None:
    run = oretrail(
        "serve", "node", "--org", "kasulo-coop", "--keys", str(keys_dir), "--host", "999.1.1.1"
    )
    assert_one_line_failure(run, "cannot listen on 999.1.1.1:")


@pytest.mark.parametrize(
    "args",
    [
        ["graph", "init", "--uri", "http://127.0.0.1:7474"],
        ["graph", "load", "--uri", "https://127.0.0.1:7473"],
        ["demo", "--neo4j", "http://127.0.0.1:7474"],
        ["serve", "node", "--org", "kasulo-coop", "--neo4j", "127.0.0.1:7687"],
    ],
)
def test_a_neo4j_uri_of_another_protocol_is_refused(args: list[str]) -> None:
    assert_one_line_failure(oretrail(*args), "is not a Neo4j Bolt URI")


@pytest.mark.parametrize("url", ["notaurl", "ftp://127.0.0.1/graphql", "http://[::1"])
def test_a_gateway_that_is_not_a_url_is_refused(url: str, user_key: str) -> None:
    run = oretrail("trace", PACK, "--gateway", url, "--user", user_key)
    assert_one_line_failure(run, f"--gateway {url!r}")


def test_a_gateway_that_is_down_is_reported(user_key: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/graphql"
    run = oretrail("trace", PACK, "--gateway", url, "--user", user_key)
    assert_one_line_failure(run, f"cannot reach the gateway at {url}")


def test_a_stuck_gateway_is_reported_within_the_timeout(busy_port: int, user_key: str) -> None:
    url = f"http://127.0.0.1:{busy_port}/graphql"
    started = time.monotonic()
    run = oretrail("trace", PACK, "--gateway", url, "--user", user_key, "--timeout", "1.5")
    elapsed = time.monotonic() - started
    assert_one_line_failure(run, f"the gateway at {url} did not answer within 1.5 s")
    # 1.5 s of waiting, plus the interpreter's start (about a second on a busy machine).
    assert 1.5 <= elapsed < 8


@pytest.mark.parametrize("timeout", ["0", "-1", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(timeout: str) -> None:
    assert_one_line_failure(oretrail("trace", PACK, "--timeout", timeout), "argument --timeout")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "payload.json"
    run = oretrail("request", "sign", str(missing))
    assert_one_line_failure(run, f"{missing}: No such file or directory")


def test_a_payload_that_is_not_utf8_is_refused(tmp_path: Path, user_key: str) -> None:
    payload = tmp_path / "payload.json"
    payload.write_bytes(b"\xff\xfe{}")
    run = oretrail("request", "sign", str(payload), "--user", user_key)
    assert_one_line_failure(run, "the payload is not UTF-8 text")


def test_a_directory_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("not a directory", encoding="utf-8")
    run = oretrail("keys", "export", "--dir", str(a_file / "keys"))
    assert_one_line_failure(run, f"{a_file / 'keys'}")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("port = 8100", "prot = 18100"), "gateway.toml: [gateway]: unknown key 'prot'"),
        (
            ("node_timeout = 5.0", "node_timeout = -1"),
            "gateway.toml: [gateway] node_timeout = -1: must be a number more than 0",
        ),
        (
            ("min_coverage = 0.95", "min_coverage = 95"),
            "gateway.toml: [risk] min_coverage = 95: must be a number from 0 to 1",
        ),
    ],
)
def test_a_config_typo_is_refused_naming_file_and_key(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    edited_sample(tmp_path)  # the sample config, to be broken below
    settings = tmp_path / "config" / "gateway.toml"
    text = settings.read_text(encoding="utf-8")
    assert edit[0] in text
    settings.write_text(text.replace(edit[0], edit[1]), encoding="utf-8")
    run = oretrail("--config", str(tmp_path / "config"), "seed", "check")
    assert_one_line_failure(run, f"{settings.parent}/{message}")


def test_an_unknown_registry_key_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    edited_sample(tmp_path)
    registry = tmp_path / "config" / "registry.toml"
    text = registry.read_text(encoding="utf-8")
    registry.write_text(text.replace('country = "SE"', 'contry = "SE"', 1), encoding="utf-8")
    run = oretrail("--config", str(tmp_path / "config"), "seed", "check")
    assert_one_line_failure(run, f"{registry}: participants[0] (nordvolt): unknown key 'contry'")


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    """As `oretrail schema gateway | head -0` would: the reader is gone before we write."""
    with subprocess.Popen(
        [sys.executable, "-m", "oretrail", "schema", "gateway"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        stderr = process.stderr.read()
        status = process.wait(60)
    assert stderr == b""  # no traceback, no "Exception ignored" from the final flush
    assert status == 141


def test_trace_json_is_json_alone_on_stdout(federation: Federation, user_key: str) -> None:
    user = str(federation.user("nordvolt").save(Path(user_key).parent / "member"))
    run = oretrail(
        "trace",
        PACK,
        "--gateway",
        federation.gateway_url,
        "--user",
        user,
        "--json",
        "--as-of",
        "2026-11-26",
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["root"] == PACK


def test_the_demo_s_json_is_json_alone_with_progress_on_stderr() -> None:
    run = oretrail("demo", "--json", "--as-of", "2026-11-26", timeout=120)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["trace"]["root"] == PACK
    assert "Starting" in run.stderr
    assert "Gateway at http://127.0.0.1:" in run.stderr


class _Finished:
    """A node that answers ``delay`` seconds late, setting ``asked`` when a request comes
    and ``done`` when it has answered."""

    def __init__(self, app: ASGIApp, delay: float) -> None:
        self.app = app
        self.delay = delay
        self.asked = threading.Event()
        self.done = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.asked.set()
        await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)
        self.done.set()


def history(federation: Federation) -> list[Any]:
    """The roots of nordvolt's recorded traces, newest first."""
    token = federation.user("nordvolt")
    body = asyncio.run(graphql(federation.gateway_url, HISTORY, token=token))
    return [record["root"] for record in body["data"]["traceHistory"]]


@contextlib.contextmanager
def slow_mine_federation(tmp_path: Path) -> Iterator[tuple[Federation, _Finished]]:
    """The sample federation whose cobalt mine answers 2 s late, so that a trace of the
    pack is still running when the mine is asked."""
    config = edited_sample(tmp_path)
    keys = FederationKeys.generate(config.registry.participants)
    approve_as_members(config, keys)
    mine = _Finished(real_node(config, "kambove-mining", keys), delay=2.0)
    with served_federation(config, replace_apps={"kambove-mining": mine}, keys=keys) as running:
        yield running, mine


def test_an_interrupted_trace_is_not_recorded(tmp_path: Path) -> None:
    """Ctrl-C during a trace: one line, status 130, and the gateway records nothing;
    the same trace run to the end is recorded (so the check can fail)."""
    with slow_mine_federation(tmp_path) as (federation, mine):
        user = str(federation.user("nordvolt").save(tmp_path))
        command = [
            sys.executable,
            "-m",
            "oretrail",
            "trace",
            PACK,
            "--gateway",
            federation.gateway_url,
            "--user",
            user,
            "--as-of",
            "2026-11-26",
        ]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        ) as process:
            # The trace has reached the mine: the command is waiting for the answer.
            assert mine.asked.wait(30)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert err.splitlines() == ["oretrail: interrupted"]
        assert out == ""
        # The gateway finishes the trace once the mine answers, and then sees no caller.
        assert mine.done.wait(10)
        time.sleep(0.5)
        assert history(federation) == []
        run = oretrail(*command[3:])
        assert run.returncode == 0, run.stderr
        assert history(federation) == [PACK]


def test_a_trace_that_timed_out_is_not_recorded(tmp_path: Path) -> None:
    """The client gave up after 1 s: one line, and the gateway records nothing."""
    with slow_mine_federation(tmp_path) as (federation, mine):
        user = str(federation.user("nordvolt").save(tmp_path))
        run = oretrail(
            "trace",
            PACK,
            "--gateway",
            federation.gateway_url,
            "--user",
            user,
            "--as-of",
            "2026-11-26",
            "--timeout",
            "1",
        )
        assert_one_line_failure(run, "did not answer within 1 s")
        assert mine.done.wait(10)
        time.sleep(0.5)
        assert history(federation) == []


def test_an_interrupt_while_the_command_starts_shows_no_traceback() -> None:
    """Ctrl-C in the second the CLI takes to import: ended as the shell ends a program."""
    with subprocess.Popen(
        [sys.executable, "-m", "oretrail", "schema", "gateway"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as process:
        time.sleep(0.3)  # the interpreter is up, the CLI's imports are not done
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert "Traceback" not in err
    assert err in ("", "oretrail: interrupted\n")
    # Killed by SIGINT during the imports (-2, which a shell shows as 130), or, on a
    # fast machine, interrupted in main: 130 either way for the user.
    assert process.returncode in (-signal.SIGINT, 130), (process.returncode, err)
    assert out == "" or process.returncode == 130


def test_a_slow_trace_shows_progress_on_stderr_and_json_alone_on_stdout(tmp_path: Path) -> None:
    """--progress on a pipe: a line per second on stderr while the gateway waits for the
    mine (2 s late), the JSON alone on stdout; without --progress, stderr stays empty.
    `export dpp` and `report`, which trace too, say so the same way."""
    with slow_mine_federation(tmp_path) as (federation, _):
        user = str(federation.user("nordvolt").save(tmp_path))
        args = ["trace", PACK, "--gateway", federation.gateway_url, "--user", user]
        args += ["--as-of", "2026-11-26", "--json"]
        run = oretrail(*args, "--progress")
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["root"] == PACK
        lines = run.stderr.splitlines()
        # The mine alone answers 2 s late: at least the lines at 1 s and 2 s, each whole.
        assert len(lines) >= 2, run.stderr
        for line in lines:
            assert line.startswith(f"oretrail: tracing {PACK} through "), line
            assert line.endswith(" s"), line
        assert lines[0].endswith(" ... 1 s"), lines[0]
        quiet = oretrail(*args)
        assert quiet.returncode == 0, quiet.stderr
        assert quiet.stderr == ""
        assert json.loads(quiet.stdout)["root"] == PACK
        # The commands that trace for a document say the same.
        common = [PACK, "--gateway", federation.gateway_url, "--user", user, "--progress"]
        common += ["--as-of", "2026-11-26"]
        exported = oretrail("export", "dpp", *common, "--unsigned")
        reported = oretrail("report", *common, "--format", "json")
        for run, made in ((exported, "passport"), (reported, "report")):
            assert run.returncode == 0, run.stderr
            assert PACK in json.dumps(json.loads(run.stdout))
            first = run.stderr.splitlines()[0]
            assert first == f"oretrail: tracing {PACK} for its {made} ... 1 s", run.stderr


def test_a_missing_token_file_is_one_line() -> None:
    run = oretrail("trace", PACK, "--token-file", "no/such/token.toml")
    assert_one_line_failure(run, "--token-file no/such/token.toml: no such file")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("key = ", "not TOML"),
        ('key = "user.pem"\ntoken = "eyJ..."', "unknown key 'token'"),
        ('certificate = "user.cert"', "no 'key'"),
        ("key = 7", "'key' must be a path"),
        ('key = "absent.pem"', "cannot read signing key"),
        ('key = "user.pem"\ncertificate = "user.pem"', "is not a user certificate"),
    ],
)
def test_a_malformed_token_file_is_one_line_naming_it(
    tmp_path: Path, user_key: str, text: str, message: str
) -> None:
    key = Path(user_key)
    key.rename(tmp_path / "user.pem")
    (tmp_path / "token.toml").write_text(text + "\n", encoding="utf-8")
    run = oretrail("trace", PACK, "--token-file", str(tmp_path / "token.toml"))
    assert_one_line_failure(run, f"--token-file {tmp_path / 'token.toml'}")
    assert message in run.stderr, run.stderr


def test_user_and_token_file_together_are_a_usage_error(user_key: str) -> None:
    run = oretrail("trace", PACK, "--user", user_key, "--token-file", "token.toml")
    assert_one_line_failure(run, "not allowed with argument")


def test_a_token_file_names_the_key_and_certificate_that_sign_each_request(
    federation: Federation, tmp_path: Path
) -> None:
    """Paths relative to the token file, the certificate under a name of its own: the
    trace runs as nordvolt's user (the gateway verified the signed request)."""
    pem = federation.user("nordvolt", "ann@nordvolt").save(tmp_path / "keys")
    pem.with_suffix(".cert").rename(tmp_path / "keys" / "issued-today.cert")
    (tmp_path / "token.toml").write_text(
        'key = "keys/ann@nordvolt.pem"\ncertificate = "keys/issued-today.cert"\n',
        encoding="utf-8",
    )
    run = oretrail(
        "trace",
        PACK,
        "--gateway",
        federation.gateway_url,
        "--token-file",
        str(tmp_path / "token.toml"),
        "--as-of",
        "2026-11-26",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["root"] == PACK
