"""`run` in the foreground with `terminal: true` and no console socket: pyrunc receives the pty
master itself and copies between it and its own stdio, as runc does."""

import os
import select
import socket

import cext


class TtyProxy:
    def __init__(self):
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = mine
        self.child_end = theirs.detach()
        self.master = -1
        self.saved_tty = None

    def close_child_end(self) -> None:
        if self.child_end >= 0:
            os.close(self.child_end)
            self.child_end = -1

    def receive_master(self) -> None:
        self.master, _ = cext.recv_fd(self.sock.fileno())
        self.sock.close()
        if os.isatty(0):
            import termios
            import tty

            self.saved_tty = termios.tcgetattr(0)
            tty.setraw(0)
            self._copy_window_size()

    def _copy_window_size(self) -> None:
        import fcntl
        import termios

        size = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)

    def pump_until_exit(self, pid: int) -> None:
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.register(self.master, select.POLLIN)
        stdin_open = True
        poller.register(0, select.POLLIN)
        try:
            while True:
                for fd, _events in poller.poll():
                    if fd == pidfd:
                        return
                    if fd == self.master:
                        if not self._copy(self.master, 1):
                            poller.unregister(self.master)
                    elif fd == 0 and stdin_open:
                        if not self._copy(0, self.master):
                            poller.unregister(0)
                            stdin_open = False
        finally:
            os.close(pidfd)

    @staticmethod
    def _copy(src: int, dst: int) -> bool:
        try:
            data = os.read(src, 65536)
        except OSError:  # EIO: the pty's other side is closed
            return False
        if not data:
            return False
        os.write(dst, data)
        return True

    def finish(self) -> None:
        # What the process wrote just before exiting is still in the pty.
        os.set_blocking(self.master, False)
        while self._copy(self.master, 1):
            pass
        os.close(self.master)
        if self.saved_tty is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, self.saved_tty)
