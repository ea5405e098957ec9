"""Bringing `lo` up in a new network namespace with one ioctl.

pyroute2 costs ~170 ms to import; setting IFF_UP on loopback is a single SIOCSIFFLAGS, which
needs no netlink. Everything else about network devices goes through pyroute2.
"""

import _socket  # the C module alone: `socket` pulls in enum and selectors (~4 ms)
import fcntl
import struct

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def link_up(name: str) -> None:
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        req = struct.pack("16sH14x", name.encode(), 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sH14x", name.encode(), flags | _IFF_UP))
    finally:
        s.close()
