"""Build script for the C shim: cffi, API mode, out-of-line -> ``cext._native``.

Used two ways:

* by setuptools, through ``setup.py``'s ``cffi_modules=["cext/build.py:ffibuilder"]``
  (``pip install .`` and ``pip install -e .``); cffi runs this file with
  ``exec`` and the project root as the current directory;
* by hand, ``python3 cext/build.py``: builds ``cext/_native*.so`` in place
  (objects under ``build/``), for working in the tree without installing.

The C side lives in ``cext/src/``: one file per kernel concern, the shared
declarations in ``pyrunc.h``. The cffi ``cdef`` is the part of ``pyrunc.h``
between ``CDEF-BEGIN`` and ``CDEF-END`` plus the integer constants listed
below, so a new function is declared in one place only.
"""

import os
import sys

from cffi import FFI

# Paths: setuptools wants sources relative to the project root (the
# current directory whenever setuptools runs this file).
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = "cext/src"
SOURCES = [
    f"{SRC}/ns.c",
    f"{SRC}/mount.c",
    f"{SRC}/fs.c",
    f"{SRC}/caps.c",
    f"{SRC}/misc.c",
    f"{SRC}/fdpass.c",
    f"{SRC}/exec.c",
    f"{SRC}/fork.c",
    f"{SRC}/numa.c",
    f"{SRC}/seccomp.c",
    f"{SRC}/statfs.c",
]
HEADERS = [f"{SRC}/pyrunc.h", f"{SRC}/statfs.h"]
# libseccomp (libseccomp-dev on the build machines) for seccomp.c.
LIBRARIES: list[str] = ["seccomp"]

# Integer constants exported as attributes of ``cext`` (and ``cext._native.lib``).
# Every upper-case name of the lib is a constant; ``cext/__init__.py`` relies on it.
CONSTANTS = """
CLONE_NEWNS CLONE_NEWUTS CLONE_NEWIPC CLONE_NEWUSER CLONE_NEWPID CLONE_NEWNET
CLONE_NEWCGROUP CLONE_NEWTIME CLONE_FILES CLONE_FS CLONE_SYSVSEM

MS_RDONLY MS_NOSUID MS_NODEV MS_NOEXEC MS_SYNCHRONOUS MS_REMOUNT MS_MANDLOCK
MS_DIRSYNC MS_NOSYMFOLLOW MS_NOATIME MS_NODIRATIME MS_BIND MS_MOVE MS_REC
MS_SILENT MS_POSIXACL MS_UNBINDABLE MS_PRIVATE MS_SLAVE MS_SHARED MS_RELATIME
MS_STRICTATIME MS_LAZYTIME
MNT_FORCE MNT_DETACH MNT_EXPIRE UMOUNT_NOFOLLOW

RESOLVE_NO_XDEV RESOLVE_NO_MAGICLINKS RESOLVE_NO_SYMLINKS RESOLVE_BENEATH
RESOLVE_IN_ROOT RESOLVE_CACHED

OPEN_TREE_CLONE OPEN_TREE_CLOEXEC
MOVE_MOUNT_F_SYMLINKS MOVE_MOUNT_F_AUTOMOUNTS MOVE_MOUNT_F_EMPTY_PATH
MOVE_MOUNT_T_SYMLINKS MOVE_MOUNT_T_AUTOMOUNTS MOVE_MOUNT_T_EMPTY_PATH
MOVE_MOUNT_SET_GROUP MOVE_MOUNT_BENEATH
MOUNT_ATTR_RDONLY MOUNT_ATTR_NOSUID MOUNT_ATTR_NODEV MOUNT_ATTR_NOEXEC
MOUNT_ATTR__ATIME MOUNT_ATTR_RELATIME MOUNT_ATTR_NOATIME MOUNT_ATTR_STRICTATIME
MOUNT_ATTR_NODIRATIME MOUNT_ATTR_IDMAP MOUNT_ATTR_NOSYMFOLLOW
AT_FDCWD AT_RECURSIVE AT_EMPTY_PATH AT_SYMLINK_NOFOLLOW AT_NO_AUTOMOUNT

PR_SET_PDEATHSIG PR_GET_PDEATHSIG PR_GET_DUMPABLE PR_SET_DUMPABLE
PR_GET_KEEPCAPS PR_SET_KEEPCAPS PR_CAPBSET_READ PR_CAPBSET_DROP
PR_GET_SECUREBITS PR_SET_SECUREBITS PR_SET_CHILD_SUBREAPER
PR_GET_CHILD_SUBREAPER PR_SET_NO_NEW_PRIVS PR_GET_NO_NEW_PRIVS
PR_CAP_AMBIENT PR_CAP_AMBIENT_IS_SET PR_CAP_AMBIENT_RAISE PR_CAP_AMBIENT_LOWER
PR_CAP_AMBIENT_CLEAR_ALL

PER_LINUX PER_LINUX32 ADDR_NO_RANDOMIZE
KEY_SPEC_SESSION_KEYRING
CLOSE_RANGE_UNSHARE CLOSE_RANGE_CLOEXEC
PIDFD_NONBLOCK

IOPRIO_CLASS_NONE IOPRIO_CLASS_RT IOPRIO_CLASS_BE IOPRIO_CLASS_IDLE
IOPRIO_CLASS_SHIFT IOPRIO_WHO_PROCESS IOPRIO_WHO_PGRP IOPRIO_WHO_USER

SCHED_OTHER SCHED_FIFO SCHED_RR SCHED_BATCH SCHED_IDLE SCHED_DEADLINE
SCHED_FLAG_RESET_ON_FORK SCHED_FLAG_RECLAIM SCHED_FLAG_DL_OVERRUN
SCHED_FLAG_KEEP_POLICY SCHED_FLAG_KEEP_PARAMS SCHED_FLAG_UTIL_CLAMP_MIN
SCHED_FLAG_UTIL_CLAMP_MAX

SCMP_ACT_KILL_PROCESS SCMP_ACT_KILL_THREAD SCMP_ACT_KILL SCMP_ACT_TRAP
SCMP_ACT_ERRNO_BASE SCMP_ACT_TRACE_BASE SCMP_ACT_LOG SCMP_ACT_ALLOW SCMP_ACT_NOTIFY
SCMP_CMP_NE SCMP_CMP_LT SCMP_CMP_LE SCMP_CMP_EQ SCMP_CMP_GE SCMP_CMP_GT SCMP_CMP_MASKED_EQ
SCMP_FLTATR_ACT_DEFAULT SCMP_FLTATR_ACT_BADARCH SCMP_FLTATR_CTL_NNP SCMP_FLTATR_CTL_TSYNC
SCMP_FLTATR_API_TSKIP SCMP_FLTATR_CTL_LOG SCMP_FLTATR_CTL_SSB SCMP_FLTATR_CTL_OPTIMIZE
SCMP_FLTATR_API_SYSRAWRC SCMP_ARCH_NATIVE
SECCOMP_FILTER_FLAG_TSYNC SECCOMP_FILTER_FLAG_LOG SECCOMP_FILTER_FLAG_SPEC_ALLOW
SECCOMP_FILTER_FLAG_NEW_LISTENER SECCOMP_FILTER_FLAG_TSYNC_ESRCH
SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

PYRUNC_STAGE_EOF PYRUNC_STAGE_READ PYRUNC_STAGE_EXEC
""".split()


def _cdef_from_header(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    begin = text.index("/* CDEF-BEGIN */") + len("/* CDEF-BEGIN */")
    end = text.index("/* CDEF-END */")
    return text[begin:end]


ffibuilder = FFI()
ffibuilder.cdef(
    "".join(_cdef_from_header(os.path.join(ROOT, h)) for h in HEADERS)
    + "".join(f"#define {name} ...\n" for name in CONSTANTS)
)
ffibuilder.set_source(
    "cext._native",
    "".join(f'#include "{os.path.basename(h)}"\n' for h in HEADERS),
    sources=SOURCES,
    depends=HEADERS,
    include_dirs=[SRC],
    libraries=LIBRARIES,
    extra_compile_args=["-Wall", "-Wno-unused-parameter"],
    # explicit, so that setuptools (pip install) and build_inplace() both name
    # the file _native.cpython-3XX-<platform>.so: one file, rebuilt in place,
    # rather than an .abi3.so that a stale versioned one would shadow
    py_limited_api=False,
)


def build_inplace() -> str:
    """Compile ``cext/_native*.so`` next to this file; return its path."""
    from setuptools import Distribution

    os.chdir(ROOT)
    ext = ffibuilder.distutils_extension(tmpdir="build/cffi")
    dist = Distribution({"name": "pyrunc-cext", "ext_modules": [ext]})
    cmd = dist.get_command_obj("build_ext")
    cmd.inplace = True
    cmd.build_temp = "build/temp-inplace"
    cmd.ensure_finalized()
    cmd.run()
    built = cmd.get_ext_fullpath(ext.name)
    # drop other builds of the module (e.g. an old .abi3.so) that could shadow it
    for name in os.listdir(HERE):
        other = os.path.join(HERE, name)
        if name.startswith("_native.") and name.endswith(".so") and other != os.path.abspath(built):
            os.unlink(other)
    return built


if __name__ == "__main__":
    print(build_inplace(), file=sys.stderr)
