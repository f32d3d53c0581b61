"""sd_notify spoken by hand, received on a test datagram socket as systemd would.

Oracle: the protocol of sd_notify(3) and sd_watchdog_enabled(3): KEY=VALUE lines in one
datagram; '@' = abstract socket; WATCHDOG_USEC in microseconds, pinged at half of it; a
WATCHDOG_PID naming another process means the watchdog is not ours.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon.runtime.sdnotify import SdNotifier, Watchdog


@contextmanager
def receiver(
    abstract: bool = True, folder: Path | None = None
) -> Iterator[tuple[str, socket.socket]]:
    """A bound datagram socket and the NOTIFY_SOCKET value that names it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"alvh-test-{uuid.uuid4().hex}"
        sock.bind("\0" + name)
        value = "@" + name
    else:
        assert folder is not None
        value = str(folder / "n.sock")
        sock.bind(value)
    sock.setblocking(False)
    try:
        yield value, sock
    finally:
        sock.close()


def drain(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_messages_on_abstract_and_path_sockets(tmp_path: Path) -> None:
    """READY with STATUS in one datagram; a status's newline cannot inject a second key."""
    with receiver() as (name, sock):
        n = SdNotifier({"NOTIFY_SOCKET": name})
        assert n.enabled
        n.ready("warm-up ok")
        n.status("line one\nWATCHDOG=1")
        n.stopping("stopping: SIGTERM")
        assert drain(sock) == [
            "READY=1\nSTATUS=warm-up ok",
            "STATUS=line one WATCHDOG=1",
            "STOPPING=1\nSTATUS=stopping: SIGTERM",
        ]
    short = Path("/tmp") / f"alvh-{uuid.uuid4().hex[:8]}"  # AF_UNIX paths max 107 bytes
    short.mkdir()
    try:
        with receiver(abstract=False, folder=short) as (name, sock):
            SdNotifier({"NOTIFY_SOCKET": name}).watchdog()
            assert drain(sock) == ["WATCHDOG=1"]
    finally:
        for p in short.iterdir():
            p.unlink()
        short.rmdir()


def test_watchdog_interval_is_half_of_watchdog_usec_and_only_for_our_pid() -> None:
    """WATCHDOG_USEC=60000000 (60 s) -> ping every 30 s; another process's WATCHDOG_PID ->
    no watchdog; no NOTIFY_SOCKET -> every call is a harmless no-op."""
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "60000000"}
    assert SdNotifier(env, pid=42).watchdog_interval_s == 30.0
    assert SdNotifier({**env, "WATCHDOG_PID": "42"}, pid=42).watchdog_interval_s == 30.0
    assert SdNotifier({**env, "WATCHDOG_PID": "43"}, pid=42).watchdog_interval_s is None
    assert SdNotifier({"NOTIFY_SOCKET": "@x"}).watchdog_interval_s is None
    silent = SdNotifier({})
    assert not silent.enabled
    silent.ready("x")  # nothing to send to, nothing raised


def test_a_vanished_socket_is_logged_not_raised() -> None:
    """systemd gone (no listener): the send fails quietly, the daemon goes on."""
    n = SdNotifier({"NOTIFY_SOCKET": f"@alvh-nobody-{uuid.uuid4().hex}"})
    n.ready("x")
    n.watchdog()


def test_watchdog_pings_only_while_alive() -> None:
    """Alive, alive, stuck, stuck, alive: exactly three WATCHDOG=1, none while stuck."""
    with receiver() as (name, sock):
        n = SdNotifier({"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "1000000"})
        states = iter([True, True, False, False, True])
        dog = Watchdog(n, lambda: next(states))
        sent = [dog.tick() for _ in range(5)]
        assert sent == [True, True, False, False, True]
        assert drain(sock) == ["WATCHDOG=1"] * 3
        assert dog.rounds == 5 and dog.withheld == 0
