"""The cgroup v2 device controller: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the
device rules, loaded with bpf(2) and attached to the container's cgroup.

The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` where
access_type is (access << 16) | type, and returns 1 to allow, 0 to deny. It encodes the
outcome of the v1 semantics (values.effective_rules): one block per exception, first match
decides, then the default.
"""

import os
import struct

from runtime.cgroups.fs import errno_text
from runtime.errors import PyruncError

# bpf(2) commands and constants (uapi/linux/bpf.h)
SYS_BPF = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351, "riscv64": 280}
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_OVERRIDE = 1
BPF_F_ALLOW_MULTI = 2

DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
_ACCESS_BITS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
_TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR}

# opcodes
_LDX_W = 0x61      # dst = *(u32 *)(src + off)
_MOV32_X = 0xBC    # w_dst = w_src
_AND32_K = 0x54    # w_dst &= imm
_RSH32_K = 0x74    # w_dst >>= imm
_MOV64_K = 0xB7    # dst = imm
_JNE32_K = 0x56    # if w_dst != imm goto +off
_JEQ32_K = 0x16    # if w_dst == imm goto +off
_EXIT = 0x95

_NEXT = object()  # placeholder offset: the start of the next block


def _insn(code: int, dst: int = 0, src: int = 0, off=0, imm: int = 0):
    return [code, dst, src, off, imm]


def _access_mask(access: str) -> int:
    return sum(_ACCESS_BITS[c] for c in set(access))


def program(default_allow: bool, exceptions) -> bytes:
    """The instructions, encoded (8 bytes each)."""
    insns = [
        _insn(_LDX_W, 2, 1, 0),        # r2 = ctx->access_type
        _insn(_MOV32_X, 3, 2),         # w3 = w2
        _insn(_AND32_K, 3, imm=0xFFFF),  # w3 = type
        _insn(_MOV32_X, 4, 2),         # w4 = w2
        _insn(_RSH32_K, 4, imm=16),    # w4 = access
        _insn(_LDX_W, 5, 1, 4),        # r5 = ctx->major
        _insn(_LDX_W, 6, 1, 8),        # r6 = ctx->minor
    ]
    for dev_type, major, minor, access in exceptions:
        block = [_insn(_JNE32_K, 3, off=_NEXT, imm=_TYPES[dev_type])]
        if major is not None:
            block.append(_insn(_JNE32_K, 5, off=_NEXT, imm=_s32(major)))
        if minor is not None:
            block.append(_insn(_JNE32_K, 6, off=_NEXT, imm=_s32(minor)))
        mask = _access_mask(access)
        block.append(_insn(_MOV32_X, 7, 4))
        if default_allow:
            # an exception denies if it shares any access bit with the request
            block.append(_insn(_AND32_K, 7, imm=mask))
            block.append(_insn(_JEQ32_K, 7, off=_NEXT, imm=0))
        else:
            # an exception allows if it covers every access bit of the request
            block.append(_insn(_AND32_K, 7, imm=~mask & 0x7))
            block.append(_insn(_JNE32_K, 7, off=_NEXT, imm=0))
        block.append(_insn(_MOV64_K, 0, imm=0 if default_allow else 1))
        block.append(_insn(_EXIT))
        for i, ins in enumerate(block):
            if ins[3] is _NEXT:
                ins[3] = len(block) - i - 1
        insns.extend(block)
    insns.append(_insn(_MOV64_K, 0, imm=1 if default_allow else 0))
    insns.append(_insn(_EXIT))
    return b"".join(struct.pack("<BBhi", c, (s << 4) | d, o, i) for c, d, s, o, i in insns)


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


# -- bpf(2) -----------------------------------------------------------------------------------

class _Bpf:
    def __init__(self):
        import ctypes

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.syscall.restype = ctypes.c_long
        nr = SYS_BPF.get(os.uname().machine)
        if nr is None:
            raise PyruncError(f"/linux/resources/devices: bpf(2) syscall number unknown on "
                              f"{os.uname().machine}")
        self.nr = nr

    def call(self, cmd: int, attr: bytes, what: str) -> tuple[int, bytes]:
        buf = self.ctypes.create_string_buffer(attr.ljust(128, b"\0"), 128)
        ret = self.libc.syscall(self.ctypes.c_long(self.nr), self.ctypes.c_long(cmd), buf,
                                self.ctypes.c_long(128))
        if ret < 0:
            err = self.ctypes.get_errno()
            raise OSError(err, f"bpf({what}): {os.strerror(err)}")
        return int(ret), buf.raw

    def load(self, insns: bytes) -> int:
        ct = self.ctypes
        code = ct.create_string_buffer(insns, len(insns))
        license_ = ct.create_string_buffer(b"Apache")
        log = ct.create_string_buffer(65536)
        attr = struct.pack("<IIQQIIQII16sII", BPF_PROG_TYPE_CGROUP_DEVICE, len(insns) // 8,
                           ct.addressof(code), ct.addressof(license_), 1, len(log), ct.addressof(log),
                           0, 0, b"pyrunc_devices", 0, BPF_CGROUP_DEVICE)
        try:
            fd, _ = self.call(BPF_PROG_LOAD, attr, "BPF_PROG_LOAD")
        except OSError as e:
            text = log.value.decode(errors="replace").strip().splitlines()
            raise OSError(e.errno, f"{e.strerror}{': ' + text[-1] if text else ''}") from None
        return fd

    def query(self, cgroup_fd: int) -> tuple[int, list[int]]:
        ids = (self.ctypes.c_uint32 * 64)()
        attr = struct.pack("<IIIIQI", cgroup_fd, BPF_CGROUP_DEVICE, 0, 0, self.ctypes.addressof(ids), 64)
        _, raw = self.call(BPF_PROG_QUERY, attr, "BPF_PROG_QUERY")
        flags = struct.unpack_from("<I", raw, 12)[0]
        count = struct.unpack_from("<I", raw, 24)[0]
        return flags, list(ids[:count])

    def prog_fd(self, prog_id: int) -> int:
        fd, _ = self.call(BPF_PROG_GET_FD_BY_ID, struct.pack("<III", prog_id, 0, 0), "BPF_PROG_GET_FD_BY_ID")
        return fd

    def attach(self, cgroup_fd: int, prog_fd: int, flags: int) -> None:
        self.call(BPF_PROG_ATTACH, struct.pack("<IIIII", cgroup_fd, prog_fd, BPF_CGROUP_DEVICE, flags, 0),
                  "BPF_PROG_ATTACH")

    def detach(self, cgroup_fd: int, prog_fd: int) -> None:
        self.call(BPF_PROG_DETACH, struct.pack("<IIIII", cgroup_fd, prog_fd, BPF_CGROUP_DEVICE, 0, 0),
                  "BPF_PROG_DETACH")


def apply(directory: str, default_allow: bool, exceptions, field: str = "/linux/resources/devices") -> None:
    """Load the program and make it the only device program attached to `directory`.

    The new one is attached before the old ones are detached, so no access slips through
    in between."""
    bpf = _Bpf()
    try:
        prog = bpf.load(program(default_allow, exceptions))
    except OSError as e:
        raise PyruncError(f"{field}: load the eBPF device program: {errno_text(e)}") from None
    cgroup_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            flags, old = bpf.query(cgroup_fd)
            if old and flags != BPF_F_ALLOW_MULTI:
                # a program attached without ALLOW_MULTI (by another manager): replace it
                bpf.attach(cgroup_fd, prog, flags)
                return
            bpf.attach(cgroup_fd, prog, BPF_F_ALLOW_MULTI)
            for prog_id in old:
                old_fd = bpf.prog_fd(prog_id)
                try:
                    bpf.detach(cgroup_fd, old_fd)
                finally:
                    os.close(old_fd)
        except OSError as e:
            raise PyruncError(f"{field}: attach the eBPF device program to {directory}: "
                              f"{errno_text(e)}") from None
    finally:
        os.close(cgroup_fd)
        os.close(prog)


def attached(directory: str) -> list[int]:
    """Ids of the device programs attached to `directory` (for tests and diagnostics)."""
    cgroup_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return _Bpf().query(cgroup_fd)[1]
    finally:
        os.close(cgroup_fd)
