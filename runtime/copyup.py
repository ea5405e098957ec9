"""`tmpcopyup`: a tmpfs mounted over an image directory starts with that directory's content.

The copy reads the directory through an fd opened before the tmpfs covered it, and writes
through dir fds of the new mount, so no path is resolved twice (nothing can be redirected).
"""

import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def copy_tree(src_dir: int, dst_dir: int) -> None:
    for entry in os.scandir(src_dir):
        st = entry.stat(follow_symlinks=False)
        name = entry.name
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(name, 0o700, dir_fd=dst_dir)
            sub_src = os.open(name, _DIR_FLAGS, dir_fd=src_dir)
            sub_dst = os.open(name, _DIR_FLAGS, dir_fd=dst_dir)
            try:
                copy_tree(sub_src, sub_dst)
            finally:
                os.close(sub_src)
                os.close(sub_dst)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(name, dir_fd=src_dir), name, dir_fd=dst_dir)
        elif stat.S_ISREG(st.st_mode):
            _copy_file(src_dir, dst_dir, name, st.st_size)
        else:
            os.mknod(name, st.st_mode, st.st_rdev, dir_fd=dst_dir)
        _copy_owner_and_mode(dst_dir, name, st)


def _copy_file(src_dir: int, dst_dir: int, name: str, size: int) -> None:
    src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_dir)
    try:
        dst = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600, dir_fd=dst_dir)
        try:
            while size > 0:
                sent = os.sendfile(dst, src, None, size)
                if sent == 0:
                    break
                size -= sent
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _copy_owner_and_mode(dst_dir: int, name: str, st: os.stat_result) -> None:
    os.chown(name, st.st_uid, st.st_gid, dir_fd=dst_dir, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=dst_dir)
    os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst_dir, follow_symlinks=False)


def copy_root_attributes(src_dir: int, dst_dir: int) -> None:
    """The tmpfs root takes the mode and owner of the directory it covers."""
    st = os.fstat(src_dir)
    os.fchown(dst_dir, st.st_uid, st.st_gid)
    os.fchmod(dst_dir, stat.S_IMODE(st.st_mode))
