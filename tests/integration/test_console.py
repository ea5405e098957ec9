"""process.terminal with --console-socket: the pty master comes back over a unix socket."""

from __future__ import annotations

import array
import contextlib
import errno
import fcntl
import os
import select
import socket
import stat
import tempfile
import termios
import time

import pytest

# _IOR('T', 0x30, unsigned int): the pty number of a master (not exported by termios)
TIOCGPTN = getattr(termios, "TIOCGPTN", 0x80045430)


@contextlib.contextmanager
def console_socket():
    """A listening AF_UNIX stream socket on a short path; yields (path, listener)."""
    d = tempfile.mkdtemp(prefix="pyrunc-cs-", dir="/tmp")
    path = os.path.join(d, "console.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(10)
        yield path, listener
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.rmdir(d)


def receive_master(listener: socket.socket) -> tuple[int, bytes]:
    """Accept one connection and receive exactly one fd (SCM_RIGHTS) with its data."""
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(10)
        fds = array.array("i")
        msg, ancdata, _flags, _addr = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
        received = []
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(data[: len(data) - (len(data) % a.itemsize)])
                received.extend(a)
        assert len(received) == 1, f"expected one fd over the console socket, got {received}"
        return received[0], msg


def read_until_eof(fd: int, timeout: float = 10.0) -> bytes:
    """Read a pty master until the slave side is closed (EIO) or ``timeout``."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not chunk:
            break
        out += chunk
    else:
        pytest.fail(f"pty output did not end within {timeout}s; got {out!r}")
    return out


def tty_bundle(bundle, args, **kw):
    return bundle(args, process={"terminal": True, "consoleSize": {"height": 30, "width": 100}}, **kw)


def test_console_socket_receives_pty_master(runtime, bundle, cid):
    script = "tty; stty size; test -t 0 && test -t 1 && test -t 2 && echo all-tty"
    b = tty_bundle(bundle, ["sh", "-c", script])
    with console_socket() as (path, listener):
        created = runtime.create(cid, b, "--console-socket", path)
        fd, data = receive_master(listener)
    try:
        assert created.stderr == ""
        assert data, "the fd came without a name"
        assert data.rstrip(b"\0").decode().startswith("/dev/"), data
        assert stat.S_ISCHR(os.fstat(fd).st_mode)
        assert os.isatty(fd)
        # it is a master: it has a pty number, and that is the container's first pty
        ptn = array.array("i", [-1])
        fcntl.ioctl(fd, TIOCGPTN, ptn, True)
        assert ptn[0] == 0

        runtime.start(cid)
        text = read_until_eof(fd).decode(errors="replace").replace("\r\n", "\n")
    finally:
        os.close(fd)
    lines = [line for line in text.splitlines() if line]
    assert lines == ["/dev/pts/0", "30 100", "all-tty"], text
    runtime.wait_status(cid, "stopped")


def test_console_input_goes_to_process(runtime, bundle, cid):
    b = tty_bundle(bundle, ["sh", "-c", "stty -echo; echo ready; read x; echo got:$x"])
    with console_socket() as (path, listener):
        runtime.create(cid, b, "--console-socket", path)
        fd, _ = receive_master(listener)
    try:
        runtime.start(cid)
        seen = b""
        deadline = time.monotonic() + 10
        while b"ready" not in seen and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                seen += os.read(fd, 4096)
        assert b"ready" in seen, seen
        os.write(fd, b"typed-line\n")
        text = (seen + read_until_eof(fd)).decode(errors="replace")
    finally:
        os.close(fd)
    assert "got:typed-line" in text, text


def test_console_has_controlling_terminal(runtime, bundle, cid):
    # the shell is a session leader with the pty as its controlling terminal
    b = tty_bundle(bundle, ["sh", "-c", "cat /proc/self/stat; echo; readlink /proc/self/fd/0"])
    with console_socket() as (path, listener):
        runtime.create(cid, b, "--console-socket", path)
        fd, _ = receive_master(listener)
    try:
        runtime.start(cid)
        text = read_until_eof(fd).decode(errors="replace")
    finally:
        os.close(fd)
    stat_line = next(line for line in text.splitlines() if ") " in line)
    fields = stat_line[stat_line.rindex(")") + 2:].split()
    # fields[4] is tty_nr: major 136 (unix98 pty slave), minor 0
    tty_nr = int(fields[4])
    assert os.major(tty_nr) == 136 and os.minor(tty_nr) == 0, stat_line
    assert "/dev/pts/0" in text


def test_terminal_create_without_console_socket_fails(runtime, bundle, cid):
    b = tty_bundle(bundle, ["true"])
    res = runtime.create(cid, b, check=False)
    assert res.returncode != 0, res.describe()
    assert not (runtime.root / cid).exists()
