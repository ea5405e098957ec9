"""`linux.netDevices`: moving host network interfaces into the container's network namespace.

What runtime-spec 1.3 (config-linux.md, "Network Devices") asks, and what this module does:

* Each key names an interface of the runtime's network namespace; it MUST be made available
  in the container's namespace, renamed to `name` when given. A name already taken there is
  an error, unless the name is a template ending in `%d` (the kernel then picks a free unit).
  `move_in` checks all of this before moving anything.
* Its attributes MUST be preserved, including every permanent (IFA_F_PERMANENT) address of
  global scope (RT_SCOPE_UNIVERSE), of any family. The kernel keeps the device's own
  attributes (MAC address, MTU, alternative names, ...) across the move, but flushes all of
  its addresses; `move_in` reads those addresses first and adds them again inside.
  Link-scope, host-scope and non-permanent (dynamic) addresses are deliberately not carried.
* The device MUST be set "up" once inside.
* The runtime MUST NOT move the interface out of the namespace before deletion: at `delete`
  the namespace's owner and the kernel deal with it. So `move_out` does nothing (see there).

When the last reference to a network namespace goes, the kernel (net/core/dev.c,
default_device_exit_net) moves every device that can change namespace and was not created
through rtnetlink link ops -- that is, physical devices -- to the *initial* network namespace
(not to the runtime's, should the runtime run in another one), keeping its current, possibly
renamed, name unless that is taken there ("dev<ifindex>" or "dev%d" then). Virtual devices
(veth, macvlan, vxlan, dummy, ...) are deleted with the namespace, and a veth's peer with it.

Only the runtime's own netlink is used: pyroute2, imported inside the functions (~170 ms),
so configs without netDevices never pay for it. Netlink sockets stay bound to the network
namespace they were made in: a socket for the container's namespace is made by this thread
entering it with setns(2) and leaving at once, so no helper process is needed.
"""

import errno as _errno
import os

from runtime import log
from runtime.errors import PyruncError, SetupError

IFNAMSIZ = 16  # including the NUL
_CLONE_NEWNET = 0x40000000
_IFF_UP = 0x1
_IFA_F_SECONDARY = 0x01
_IFA_F_PERMANENT = 0x80
_RT_SCOPE_UNIVERSE = 0
# Address flags that are configuration (kept when an address is added again), as opposed to
# state the kernel computes (secondary, tentative, deprecated, dadfailed, permanent, ...):
# NODAD | HOMEADDRESS | MANAGETEMPADDR | NOPREFIXROUTE | MCAUTOJOIN.
_IFA_CONFIG_FLAGS = 0x02 | 0x10 | 0x100 | 0x200 | 0x400


def pointer(host: str) -> str:
    """The JSON pointer of one entry of linux.netDevices."""
    return "/linux/netDevices/" + host.replace("~", "~0").replace("/", "~1")


def inside_name(host: str, dev) -> str:
    """The name asked for inside the container: `dev` is a NetDevice, a dict or None."""
    name = dev.get("name") if isinstance(dev, dict) else getattr(dev, "name", None)
    return name or host


def _error(host: str, step: str, code: int) -> SetupError:
    reason = f"{os.strerror(code)} ({_errno.errorcode.get(code, code)})"
    return SetupError(step, pointer(host), OSError(code, reason))


def _check_names(wanted: list[tuple[str, str]]) -> None:
    """What can be told wrong from the config alone, before any netlink."""
    seen: dict[str, str] = {}
    for host, name in wanted:
        for what, n in (("host", host), ("container", name)):
            if not n or len(n.encode()) >= IFNAMSIZ or "/" in n or ":" in n or n.split() != [n]:
                raise _error(host, f"invalid {what} interface name {n!r}", _errno.EINVAL)
        if "%" in name:
            continue
        if name in seen:
            raise _error(host, f"{name} is also the name asked for {seen[name]} in the container",
                         _errno.EEXIST)
        seen[name] = host


# --------------------------------------------------------------------------- netlink helpers


def _ns_fd(path: str) -> int:
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def _own_ns_fd() -> int:
    return _ns_fd("/proc/thread-self/ns/net")


def _route_socket_in(ns_fd: int):
    """A NETLINK_ROUTE socket bound to the network namespace behind `ns_fd`."""
    import socket

    import cext

    home = _own_ns_fd()
    try:
        cext.setns(ns_fd, _CLONE_NEWNET)
        try:
            return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC,
                                 socket.NETLINK_ROUTE)
        finally:
            # Must not fail: this thread would go on in the container's namespace.
            cext.setns(home, _CLONE_NEWNET)
    finally:
        os.close(home)


def iproute_in(ns_fd: int | None = None):
    """A pyroute2 IPRoute for the namespace behind `ns_fd` (None: this thread's own)."""
    from pyroute2 import IPRoute

    if ns_fd is None:
        return IPRoute()
    return IPRoute(fileno=_route_socket_in(ns_fd).detach())


def _code(exc: BaseException) -> int:
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code > 0:
        return code
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    return _errno.EIO


def _netlink_errors():
    from pyroute2.netlink.exceptions import NetlinkError

    return (NetlinkError, OSError)


def _links(ipr) -> dict[int, tuple[str, str | None]]:
    """ifindex -> (name, link-layer address) of every link of `ipr`'s namespace."""
    return {m["index"]: (m.get_attr("IFLA_IFNAME"), m.get_attr("IFLA_ADDRESS")) for m in ipr.get_links()}


def _find(ipr, name: str):
    """The RTM_NEWLINK message of link `name`, or None."""
    for m in ipr.get_links():
        if m.get_attr("IFLA_IFNAME") == name:
            return m
    return None


def _kept_addresses(ipr, index: int) -> list[dict]:
    """The permanent, global-scope addresses of a link, as keyword arguments of IPRoute.addr."""
    kept = []
    for m in ipr.get_addr(index=index):
        flags = m.get_attr("IFA_FLAGS")
        flags = m["flags"] if flags is None else flags
        if m["scope"] != _RT_SCOPE_UNIVERSE or not flags & _IFA_F_PERMANENT:
            continue
        a = {"family": m["family"], "prefixlen": m["prefixlen"], "address": m.get_attr("IFA_ADDRESS"),
             "flags": flags & _IFA_CONFIG_FLAGS, "secondary": bool(flags & _IFA_F_SECONDARY)}
        for key, attr in (("local", "IFA_LOCAL"), ("broadcast", "IFA_BROADCAST"), ("label", "IFA_LABEL"),
                          ("proto", "IFA_PROTO"), ("rt_priority", "IFA_RT_PRIORITY")):
            value = m.get_attr(attr)
            if value is not None:
                a[key] = value
        kept.append(a)
    # IPv4 primaries before their secondaries, or the kernel makes a secondary a primary.
    kept.sort(key=lambda a: a["secondary"])
    return kept


def _add_addresses(ipr, index: int, addresses: list[dict], old_name: str, new_name: str) -> None:
    for a in addresses:
        a = {k: v for k, v in a.items() if k != "secondary"}
        label = a.pop("label", None)
        # An IPv4 label is "<device>" or "<device>:<alias>": it follows the device's name.
        if label is not None and label != old_name:
            a["label"] = new_name + label[len(old_name):] if label.startswith(old_name + ":") else label
        ipr.addr("add", index=index, scope=_RT_SCOPE_UNIVERSE, **a)


class _Link:
    """One device on its way: where it is and what must come along."""

    def __init__(self, host: str, name: str, msg, addresses: list[dict]):
        self.host = host                       # its name in the runtime's namespace
        self.name = name                       # the name asked for inside (may hold %d)
        self.index = msg["index"]              # its ifindex in the runtime's namespace
        self.up = bool(msg["flags"] & _IFF_UP)  # in the runtime's namespace
        self.mac = msg.get_attr("IFLA_ADDRESS")
        self.addresses = addresses
        self.inside: str | None = None  # its actual name inside, once moved


def _move(src, dst, dst_fd: int, index: int, name: str, mac: str | None) -> tuple[int, str] | None:
    """Move link `index` of `src`'s namespace into `dst`'s, named `name`.

    Returns (ifindex, name) in `dst`'s namespace. On failure re-raises the netlink error,
    with `.moved = (ifindex, name)` when the device moved all the same (the kernel moves it
    first and renames it after, so a failed rename leaves it moved)."""
    before = set(_links(dst))
    try:
        src.link("set", index=index, net_ns_fd=dst_fd, ifname=name)
        error = None
    except _netlink_errors() as e:
        error = e
    # The kernel may give the device another ifindex there, and a %d name: find it by what
    # appeared, the link-layer address telling apart a link someone else added meanwhile.
    new = {i: v for i, v in _links(dst).items() if i not in before}
    if len(new) > 1 and mac is not None:
        new = {i: v for i, v in new.items() if v[1] == mac} or new
    found = (min(new), new[min(new)][0]) if new else None
    if error is not None:
        if found is not None:
            error.moved = found
        raise error
    if found is None:
        raise OSError(_errno.ENODEV, "the device did not show up in the target namespace")
    return found


# --------------------------------------------------------------------------- the API


def move_in(net_devices: dict, init_pid: int) -> list[tuple[str, str]]:
    """Move the host interfaces of `linux.netDevices` into the network namespace of the
    container whose init is `init_pid`; returns [(host name, name inside), ...].

    Runs in the runtime process once the container's network namespace exists. Everything
    checkable is checked before the first move; on failure the devices already moved are
    moved back (names, addresses, up/down state restored) and a SetupError (a PyruncError)
    names /linux/netDevices/<host name>, the step and the errno.
    """
    if not net_devices:
        return []
    wanted = [(host, inside_name(host, dev)) for host, dev in net_devices.items()]
    _check_names(wanted)
    first = wanted[0][0]
    ns_path = f"/proc/{init_pid}/ns/net"
    try:
        target_fd = _ns_fd(ns_path)
    except OSError as e:
        raise _error(first, f"open the container's network namespace {ns_path}", _code(e)) from None
    home_fd = -1
    try:
        home_fd = _own_ns_fd()
        a, b = os.fstat(home_fd), os.fstat(target_fd)
        if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
            raise PyruncError(f"{pointer(first)}: the container shares the runtime's network"
                              " namespace: there is nowhere to move network devices to")
        try:
            import pyroute2  # noqa: F401
        except ImportError:
            raise PyruncError(f"{pointer(first)}: moving network devices needs the pyroute2"
                              " package, which is not installed") from None
        try:
            home = iproute_in()
        except OSError as e:
            raise _error(first, "open netlink", _code(e)) from None
        with home:
            try:
                inside = iproute_in(target_fd)
            except OSError as e:
                raise _error(first, "open netlink in the container's network namespace", _code(e)) from None
            with inside:
                return _move_all(home, inside, target_fd, home_fd, wanted)
    finally:
        os.close(target_fd)
        if home_fd >= 0:
            os.close(home_fd)


def _move_all(home, inside, target_fd: int, home_fd: int, wanted) -> list[tuple[str, str]]:
    errors = _netlink_errors()
    links: list[_Link] = []
    for host, name in wanted:
        step = f"find {host}"
        try:
            m = _find(home, host)
            if m is None:
                raise _error(host, f"find {host} in the runtime's network namespace", _errno.ENODEV)
            step = f"read the addresses of {host}"
            links.append(_Link(host, name, m, _kept_addresses(home, m["index"])))
            step = f"look for {name} in the container's network namespace"
            if "%" not in name and _find(inside, name) is not None:
                raise _error(host, f"{name} already exists in the container's network namespace",
                             _errno.EEXIST)
        except errors as e:
            raise _error(host, step, _code(e)) from None
    moved: list[_Link] = []
    try:
        for link in links:
            _move_in_one(home, inside, target_fd, link, moved)
    except BaseException:
        for link in reversed(moved):
            _rollback(home, inside, home_fd, link)
        raise
    return [(link.host, link.inside) for link in moved]


def _move_in_one(home, inside, target_fd: int, link: _Link, moved: list[_Link]) -> None:
    errors = _netlink_errors()
    try:
        index, link.inside = _move(home, inside, target_fd, link.index, link.name, link.mac)
    except errors as e:
        if getattr(e, "moved", None):
            link.inside = e.moved[1]
            moved.append(link)
        raise _error(link.host, f"move {link.host} into the container's network namespace as {link.name}",
                     _code(e)) from None
    moved.append(link)
    step = f"add the addresses of {link.host} to {link.inside}"
    try:
        _add_addresses(inside, index, link.addresses, link.host, link.inside)
        step = f"set {link.inside} up"
        inside.link("set", index=index, state="up")
    except errors as e:
        raise _error(link.host, step, _code(e)) from None
    log.current.debug(f"netDevices: moved {link.host} into the container as {link.inside}"
                      f" with {len(link.addresses)} address(es)")


def _rollback(home, inside, home_fd: int, link: _Link) -> None:
    """Undo one move of a failed move_in; failures are logged, not raised."""
    try:
        _move_back_one(home, inside, home_fd, link.inside, link.host, link.addresses, link.up)
    except Exception as e:  # noqa: BLE001 - the first error is the one to report
        log.current.warning(f"{pointer(link.host)}: could not move {link.inside} back as {link.host}:"
                            f" {os.strerror(_code(e))}")


def _move_back_one(home, inside, home_fd: int, name: str, host: str, addresses: list[dict] | None,
                   up: bool | None) -> None:
    m = _find(inside, name)
    if m is None:
        raise OSError(_errno.ENODEV, f"no {name} in the container's network namespace")
    labels_of = host  # the device name the labels of `addresses` start with
    if addresses is None:
        addresses, labels_of = _kept_addresses(inside, m["index"]), name
    if up is None:
        up = bool(m["flags"] & _IFF_UP)
    if _find(home, host) is not None:
        raise OSError(_errno.EEXIST, f"{host} exists in the runtime's network namespace")
    index, _ = _move(inside, home, home_fd, m["index"], host, m.get_attr("IFLA_ADDRESS"))
    _add_addresses(home, index, addresses, labels_of, host)
    if up:
        home.link("set", index=index, state="up")


def move_back(moved: list[tuple[str, str]], netns_path: str) -> list[tuple[str, str]]:
    """Bring devices `move_in` moved back from the namespace at `netns_path` into this
    thread's own, under their host names, with their permanent global addresses and up.

    For a create that fails after `move_in` succeeded: killing the container's processes
    would otherwise destroy the virtual devices with its namespace. Not for `delete` (the
    spec forbids it there, see move_out). Best effort: returns the (host, inside) pairs it
    could not move back, each also logged as a warning; nothing when the namespace is gone.
    """
    if not moved:
        return []
    try:
        target_fd = _ns_fd(netns_path)
    except OSError:
        return []
    failed = []
    try:
        home_fd = _own_ns_fd()
        try:
            with iproute_in() as home, iproute_in(target_fd) as inside:
                for host, name in moved:
                    try:
                        _move_back_one(home, inside, home_fd, name, host, None, None)
                    except Exception as e:  # noqa: BLE001 - best effort, each one reported
                        failed.append((host, name))
                        log.current.warning(f"{pointer(host)}: could not move {name} back as {host}:"
                                            f" {os.strerror(_code(e))}")
        finally:
            os.close(home_fd)
    finally:
        os.close(target_fd)
    return failed


def move_out(moved: list[tuple[str, str]], netns_path: str | None) -> None:
    """At `delete`: deliberately nothing.

    runtime-spec 1.3, config-linux.md: "The runtime MUST NOT attempt to move the interface out
    of the namespace before deletion." The namespace's owner may still use it (a namespace
    joined by path outlives the container), and when the namespace is freed the kernel moves
    physical devices to the initial network namespace and destroys virtual ones (see the
    module docstring). Kept so that `delete` has one documented place for the decision.
    """
    del moved, netns_path
