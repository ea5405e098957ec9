"""The container's terminal: a pty from the container's own devpts, its master sent to the
console socket (one SCM_RIGHTS message: the fd, with the pty's name as data)."""

import struct
import termios

import cext
from runtime import procfs

TIOCSCTTY = termios.TIOCSCTTY
TIOCSWINSZ = termios.TIOCSWINSZ


def setup_terminal(kernel, root, process, socket_fd: int) -> None:
    """The init's terminal. Runs after pivot_root, so that /dev/ptmx is the container's devpts;
    the pty also becomes /dev/console: bound from the pty's fd, checked to be on devpts, onto
    a /dev/console that is not a symlink (CVE-2025-52565)."""
    from runtime.rootfs import refuse_symlink

    with kernel.because("/process/terminal"):
        slave, name = open_and_send(kernel, process, socket_fd)
        refuse_symlink(kernel, root, "/dev/console", "the console")
        console = root.ensure("/dev/console", "file", 0o666)
        try:
            kernel.mount(f"/proc/self/fd/{slave}", console, None, cext.MS_BIND)
        finally:
            kernel.close(console.fd)
        make_controlling(kernel, slave)


def attach_terminal(kernel, process, socket_fd: int) -> None:
    """An exec'd process's terminal (it is already in the container's mount namespace)."""
    with kernel.because("/process/terminal"):
        slave, _ = open_and_send(kernel, process, socket_fd)
        make_controlling(kernel, slave)


def open_and_send(kernel, process, socket_fd: int) -> tuple[int, str]:
    master, slave = kernel.openpty()
    name = kernel.ttyname(slave)
    # The image's /dev/ptmx could lead elsewhere: the terminal must come from a devpts.
    procfs.check(kernel, "fstatfs",
                 lambda: procfs.require_fs(slave, procfs.DEVPTS_SUPER_MAGIC, "devpts", name),
                 (slave, "DEVPTS_SUPER_MAGIC"))
    if process.console_size is not None:
        with kernel.because("/process/consoleSize"):
            size = struct.pack("HHHH", process.console_size.height, process.console_size.width, 0, 0)
            kernel.ioctl(slave, TIOCSWINSZ, size, "TIOCSWINSZ")
    kernel.send_fd(socket_fd, master, name)
    kernel.close(master)
    kernel.close(socket_fd)
    return slave, name


def make_controlling(kernel, slave: int) -> None:
    """The pty becomes the session's controlling terminal and the process's stdio."""
    kernel.ioctl(slave, TIOCSCTTY, 0, "TIOCSCTTY")
    for fd in (0, 1, 2):
        kernel.dup2(slave, fd)
    if slave > 2:
        kernel.close(slave)
