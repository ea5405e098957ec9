"""mount(8) option strings of config.json `mounts[].options` turned into mount(2) arguments."""

import cext

MS_I_VERSION = 1 << 23  # <linux/mount.h>; not in every libc's <sys/mount.h>

# option -> (flags set, flags cleared)
_FLAGS = {
    "ro": (cext.MS_RDONLY, 0), "rw": (0, cext.MS_RDONLY),
    "nosuid": (cext.MS_NOSUID, 0), "suid": (0, cext.MS_NOSUID),
    "nodev": (cext.MS_NODEV, 0), "dev": (0, cext.MS_NODEV),
    "noexec": (cext.MS_NOEXEC, 0), "exec": (0, cext.MS_NOEXEC),
    "sync": (cext.MS_SYNCHRONOUS, 0), "async": (0, cext.MS_SYNCHRONOUS),
    "dirsync": (cext.MS_DIRSYNC, 0),
    "remount": (cext.MS_REMOUNT, 0),
    "mand": (cext.MS_MANDLOCK, 0), "nomand": (0, cext.MS_MANDLOCK),
    "atime": (0, cext.MS_NOATIME), "noatime": (cext.MS_NOATIME, 0),
    "diratime": (0, cext.MS_NODIRATIME), "nodiratime": (cext.MS_NODIRATIME, 0),
    "relatime": (cext.MS_RELATIME, 0), "norelatime": (0, cext.MS_RELATIME),
    "strictatime": (cext.MS_STRICTATIME, 0), "nostrictatime": (0, cext.MS_STRICTATIME),
    "lazytime": (cext.MS_LAZYTIME, 0), "nolazytime": (0, cext.MS_LAZYTIME),
    "silent": (cext.MS_SILENT, 0), "loud": (0, cext.MS_SILENT),
    "iversion": (MS_I_VERSION, 0), "noiversion": (0, MS_I_VERSION),
    "defaults": (0, 0),
}
_PROPAGATION = {
    "private": cext.MS_PRIVATE, "rprivate": cext.MS_PRIVATE | cext.MS_REC,
    "shared": cext.MS_SHARED, "rshared": cext.MS_SHARED | cext.MS_REC,
    "slave": cext.MS_SLAVE, "rslave": cext.MS_SLAVE | cext.MS_REC,
    "unbindable": cext.MS_UNBINDABLE, "runbindable": cext.MS_UNBINDABLE | cext.MS_REC,
}
# Recursive variants, applied to a whole mount tree with mount_setattr(AT_RECURSIVE).
_RECURSIVE = {
    "rro": (cext.MOUNT_ATTR_RDONLY, 0), "rrw": (0, cext.MOUNT_ATTR_RDONLY),
    "rnosuid": (cext.MOUNT_ATTR_NOSUID, 0), "rsuid": (0, cext.MOUNT_ATTR_NOSUID),
    "rnodev": (cext.MOUNT_ATTR_NODEV, 0), "rdev": (0, cext.MOUNT_ATTR_NODEV),
    "rnoexec": (cext.MOUNT_ATTR_NOEXEC, 0), "rexec": (0, cext.MOUNT_ATTR_NOEXEC),
    "rnodiratime": (cext.MOUNT_ATTR_NODIRATIME, 0), "rdiratime": (0, cext.MOUNT_ATTR_NODIRATIME),
    "rnosymfollow": (cext.MOUNT_ATTR_NOSYMFOLLOW, 0), "rsymfollow": (0, cext.MOUNT_ATTR_NOSYMFOLLOW),
}
# Access-time settings replace each other: setting one clears the others' bits.
_ATIME_MASK = cext.MOUNT_ATTR__ATIME if hasattr(cext, "MOUNT_ATTR__ATIME") else 0x70
_RECURSIVE_ATIME = {
    "rrelatime": cext.MOUNT_ATTR_RELATIME, "rnorelatime": 0,
    "rnoatime": cext.MOUNT_ATTR_NOATIME, "ratime": 0,
    "rstrictatime": cext.MOUNT_ATTR_STRICTATIME, "rnostrictatime": 0,
}
MS_NOSYMFOLLOW = 256  # Linux 5.10; not in every header


class MountOptions:
    """What `parse` makes of one mount's options (a plain class: `dataclasses` is a slow
    import for the container init)."""

    def __init__(self):
        self.flags = 0  # MS_* to set
        self.cleared = 0  # MS_* an option turned off (for a remount)
        self.propagation: list[int] = []
        self.attr_set = 0  # MOUNT_ATTR_* for mount_setattr (the recursive r* options)
        self.attr_clr = 0
        self.data: list[str] = []  # file-system specific options
        self.bind = False
        self.recursive_bind = False
        self.tmpcopyup = False

    def __repr__(self) -> str:
        return f"MountOptions({vars(self)})"

    @property
    def data_text(self) -> str | None:
        return ",".join(self.data) or None


def parse(options: list[str]) -> MountOptions:
    mo = MountOptions()
    for opt in options:
        if opt in _FLAGS:
            set_, clear = _FLAGS[opt]
            mo.flags = (mo.flags & ~clear) | set_
            mo.cleared = (mo.cleared & ~set_) | clear
        elif opt == "nosymfollow":
            mo.flags |= MS_NOSYMFOLLOW
        elif opt == "symfollow":
            mo.flags &= ~MS_NOSYMFOLLOW
        elif opt in _PROPAGATION:
            mo.propagation.append(_PROPAGATION[opt])
        elif opt in _RECURSIVE:
            set_, clear = _RECURSIVE[opt]
            mo.attr_set = (mo.attr_set & ~clear) | set_
            mo.attr_clr = (mo.attr_clr & ~set_) | clear
        elif opt in _RECURSIVE_ATIME:
            mo.attr_clr |= _ATIME_MASK
            mo.attr_set = (mo.attr_set & ~_ATIME_MASK) | _RECURSIVE_ATIME[opt]
        elif opt in ("bind", "rbind"):
            mo.bind = True
            mo.recursive_bind = mo.recursive_bind or opt == "rbind"
        elif opt == "tmpcopyup":
            mo.tmpcopyup = True
        elif opt in ("idmap", "ridmap"):
            pass  # runtime.idmap mounts an idmapped copy of the source: not mount(2) data
        else:
            mo.data.append(opt)  # file-system specific, handed to the kernel as data
    return mo
