"""The container's terminal: a pty from the container's own devpts, its master sent to the
console socket (one SCM_RIGHTS message: the fd, with the pty's name as data)."""

import struct
import termios

import cext

TIOCSCTTY = termios.TIOCSCTTY
TIOCSWINSZ = termios.TIOCSWINSZ


def setup_terminal(kernel, root, process, socket_fd: int) -> None:
    """Runs in the init after pivot_root, so that /dev/ptmx is the container's devpts."""
    with kernel.because("/process/terminal"):
        master, slave = kernel_openpty(kernel)
        name = kernel.ttyname(slave)
        console = root.ensure("/dev/console", "file", 0o666)
        try:
            kernel.mount(name, console, None, cext.MS_BIND)
        finally:
            kernel.close(console.fd)
        if process.console_size is not None:
            with kernel.because("/process/consoleSize"):
                size = struct.pack("HHHH", process.console_size.height, process.console_size.width, 0, 0)
                kernel.ioctl(slave, TIOCSWINSZ, size, "TIOCSWINSZ")
        kernel.send_fd(socket_fd, master, name)
        kernel.close(master)
        kernel.close(socket_fd)
        kernel.ioctl(slave, TIOCSCTTY, 0, "TIOCSCTTY")
        for fd in (0, 1, 2):
            kernel.dup2(slave, fd)
        if slave > 2:
            kernel.close(slave)


def kernel_openpty(kernel) -> tuple[int, int]:
    return kernel.openpty()
