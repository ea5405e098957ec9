"""The line protocol between `create` and the processes it forks.

Two pipes: the children (stage-1 and the container init) write `kind payload` lines up to the
runtime, and read the runtime's replies from the other. Lines stay below PIPE_BUF, so the two
children's writes never interleave.
"""

import os


class Channel:
    def __init__(self, rfd: int, wfd: int):
        self.rfd = rfd
        self.wfd = wfd
        self._buf = b""

    @classmethod
    def pair(cls) -> tuple["Channel", "Channel"]:
        """(runtime side, child side)."""
        up_r, up_w = os.pipe2(os.O_CLOEXEC)
        down_r, down_w = os.pipe2(os.O_CLOEXEC)
        return cls(up_r, down_w), cls(down_r, up_w)

    def send(self, kind: str, payload: str = "") -> bool:
        """False when the other side is gone (the runtime was killed): the caller's next
        `recv` sees the end of the pipe and gives up quietly."""
        line = f"{kind} {payload}".replace("\n", "\\n")[:4000] + "\n"
        try:
            os.write(self.wfd, line.encode("utf-8", "replace"))
        except BrokenPipeError:
            return False
        return True

    def recv(self) -> tuple[str, str]:
        """The next message; ('eof', '') when every writer has closed its end."""
        while b"\n" not in self._buf:
            chunk = os.read(self.rfd, 65536)
            if not chunk:
                return "eof", ""
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        kind, _, payload = line.decode("utf-8", "replace").partition(" ")
        return kind, payload.replace("\\n", "\n")

    def close(self) -> None:
        for fd in (self.rfd, self.wfd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.rfd = self.wfd = -1
