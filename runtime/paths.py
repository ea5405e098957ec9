"""Paths resolved inside the container's root, never outside it.

The image is hostile: any component of a mount destination or device path may be a symlink,
absolute or full of `..`, meant to point a mount at a host path. openat2(RESOLVE_IN_ROOT)
resolves such links as if the rootfs were `/`; missing components are created one at a time
under an fd of their resolved parent, and the result is handed out as an O_PATH fd.
"""

import errno
import os
import posixpath

import cext
from runtime.errors import SetupError
from runtime.kernel import InRoot

_RESOLVE = cext.RESOLVE_IN_ROOT | cext.RESOLVE_NO_MAGICLINKS
_MAX_LINKS = 40


def _errno_of(e: SetupError) -> int | None:
    return getattr(e.cause, "errno", None)


def clean(path: str) -> str:
    """Lexically cleaned absolute form (`..` cannot climb above `/`)."""
    return posixpath.normpath("/" + path).replace("//", "/")


class Root:
    """A directory that stands for `/` in path resolution (the rootfs, or `/` after pivot)."""

    def __init__(self, kernel, path: str):
        self.kernel = kernel
        self.path = path
        self.fd = kernel.open(path, os.O_PATH | os.O_DIRECTORY)

    def close(self) -> None:
        self.kernel.close(self.fd)

    def display(self, path: str) -> str:
        return self.path.rstrip("/") + path if self.path != "/" else path

    def open(self, path: str, flags: int = os.O_PATH) -> InRoot:
        path = clean(path)
        fd = self.kernel.openat2(self.fd, path.lstrip("/") or ".", flags, _RESOLVE, self.display(path))
        return InRoot(fd, self.display(path))

    def lookup(self, path: str) -> InRoot | None:
        try:
            return self.open(path)
        except SetupError as e:
            if _errno_of(e) in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise

    def ensure(self, path: str, kind: str = "dir", mode: int = 0o755) -> InRoot:
        """Open `path`, creating what is missing: directories, and a last component that is a
        `dir` or an empty `file`. Symlinks met on the way are followed inside the root."""
        path = clean(path)
        for _ in range(_MAX_LINKS):
            found = self.lookup(path)
            if found is not None:
                return found
            retry = self._create_missing(path, kind, mode)
            if retry is None:
                return self.open(path)
            path = retry
        raise SetupError(f"resolve {path!r}", self.kernel.field, OSError(errno.ELOOP, "too many symlinks"))

    def _create_missing(self, path: str, kind: str, mode: int) -> str | None:
        """Create components of `path` from the deepest existing one on. Returns a new path to
        resolve when a component turns out to be a dangling symlink, else None."""
        parts = [p for p in path.split("/") if p]
        parent = self.open("/")
        try:
            for i, name in enumerate(parts):
                sub = "/" + "/".join(parts[: i + 1])
                found = self.lookup(sub)
                if found is not None:
                    self.kernel.close(parent.fd)
                    parent = found
                    continue
                last = i == len(parts) - 1
                try:
                    if last and kind == "file":
                        self.kernel.create_file_at(parent.fd, name, mode, self.display(sub))
                    else:
                        self.kernel.mkdirat(parent.fd, name, mode if last else 0o755, self.display(sub))
                except SetupError as e:
                    # EEXIST from mkdir, ELOOP from an O_NOFOLLOW create: a dangling symlink
                    if _errno_of(e) not in (errno.EEXIST, errno.ELOOP):
                        raise
                    # A dangling symlink: continue from where it points, inside the root.
                    target = self.kernel.readlink_at(parent.fd, name)
                    base = target if target.startswith("/") else posixpath.join(parent_path(sub), target)
                    return clean(base + "/" + "/".join(parts[i + 1:]))
                found = self.open(sub)
                self.kernel.close(parent.fd)
                parent = found
            return None
        finally:
            self.kernel.close(parent.fd)


def parent_path(path: str) -> str:
    return posixpath.dirname(path) or "/"
