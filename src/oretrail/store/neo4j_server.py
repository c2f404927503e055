"""A local Neo4j 5.26 Community server for development and CI, built from Maven Central.

``graph/server`` is a Maven project that resolves org.neo4j:neo4j and
org.neo4j:neo4j-bolt and a small Java launcher; this module builds it when needed,
starts it with the JVM flags Neo4j's own configuration passes on Java 17, waits
for its readiness line, and stops it with SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from oretrail.errors import ConfigError, StoreUnavailable

__all__ = ["JVM_FLAGS", "Neo4jServer", "build_server", "running_server"]

# The flags Neo4j 5.26's neo4j.conf passes to the JVM (server.jvm.additional), less
# -XX:+AlwaysPreTouch, which would touch the whole heap at start for no gain here.
JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-XX:FlightRecorderOptions=stackdepth=256",
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:+DebugNonSafepoints",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
)
READY = "oretrail-neo4j ready"
MAIN_CLASS = "org.oretrail.graph.Launcher"


def build_server(project: Path, *, quiet: bool = True) -> str:
    """Build graph/server with Maven if its classpath is missing or stale; return the classpath."""
    classes = project / "target" / "classes"
    lib = project / "target" / "lib"
    launcher = classes / "org" / "oretrail" / "graph" / "Launcher.class"
    sources = [project / "pom.xml", *project.glob("src/**/*.java")]
    stale = (
        not launcher.exists()
        or not lib.is_dir()
        or any(s.stat().st_mtime > launcher.stat().st_mtime for s in sources)
    )
    if stale:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ConfigError("Maven (mvn) is needed to build the Neo4j server; install maven")
        command = [mvn, "-B", "package", "-DskipTests"] + (["-q"] if quiet else [])
        result = subprocess.run(  # noqa: S603 - fixed argv, mvn found on PATH
            command, cwd=project, check=False, capture_output=quiet, text=True
        )
        if result.returncode != 0:
            tail = (result.stdout or "")[-3000:] if quiet else ""
            raise ConfigError(f"building the Neo4j server in {project} failed:\n{tail}")
    return f"{classes}{os.pathsep}{lib}{os.sep}*"


class Neo4jServer:
    """One Neo4j server process: start, wait until ready, stop or kill."""

    def __init__(self, project: Path, data_dir: Path, port: int, *, heap: str = "1g") -> None:
        self.project = project
        self.data_dir = data_dir
        self.port = port
        self.heap = heap
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._pump_thread: threading.Thread | None = None

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 120.0) -> None:
        java = shutil.which("java")
        if java is None:
            raise ConfigError("Java 17 is needed to run the Neo4j server; install a JDK")
        classpath = build_server(self.project)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *JVM_FLAGS,
            "-cp",
            classpath,
            MAIN_CLASS,
            str(self.port),
            str(self.data_dir),
        ]
        self.output = []
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, java found on PATH
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        ready = threading.Event()
        self._pump_thread = threading.Thread(target=self._pump, args=(ready,), daemon=True)
        self._pump_thread.start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                tail = "\n".join(self.output[-20:])
                raise StoreUnavailable(f"Neo4j on port {self.port} did not start:\n{tail}")

    def _pump(self, ready: threading.Event) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())
            if line.startswith(READY):
                ready.set()

    def stop(self, *, timeout: float = 60.0) -> None:
        """SIGTERM and wait for a clean shutdown (checkpoint written)."""
        if self.process is None or self.process.poll() is not None:
            self._release()
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._release()

    def kill(self) -> None:
        """SIGKILL: the crash a recovery test needs."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self._release()

    def _release(self) -> None:
        """Let the output pump finish and close the pipe it read."""
        if self._pump_thread is not None:
            self._pump_thread.join(10)
            self._pump_thread = None
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def running_server(
    project: Path, data_dir: Path, port: int, *, heap: str = "1g"
) -> Iterator[Neo4jServer]:
    server = Neo4jServer(project, data_dir, port, heap=heap)
    server.start()
    try:
        yield server
    finally:
        server.stop()
