/* Mounts: mount(2)/umount2(2)/pivot_root(2) and the fd-based mount API
   (open_tree, move_mount, mount_setattr), all through raw syscalls where
   glibc's wrappers are new or missing. */
#include "pyrunc.h"

int pyrunc_mount(const char *source, const char *target, const char *fstype,
                 unsigned long flags, const char *data)
{
    return mount(source, target, fstype, flags, data);
}

int pyrunc_umount2(const char *target, int flags)
{
    return umount2(target, flags);
}

int pyrunc_pivot_root(const char *new_root, const char *put_old)
{
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int pyrunc_open_tree(int dirfd, const char *path, unsigned int flags)
{
    return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

int pyrunc_move_mount(int from_dirfd, const char *from_path, int to_dirfd,
                      const char *to_path, unsigned int flags)
{
    return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd,
                        to_path, flags);
}

int pyrunc_mount_setattr(int dirfd, const char *path, unsigned int flags,
                         uint64_t attr_set, uint64_t attr_clr,
                         uint64_t propagation, int userns_fd)
{
    struct pyrunc_mount_attr attr = {
        .attr_set = attr_set,
        .attr_clr = attr_clr,
        .propagation = propagation,
        /* only read by the kernel when MOUNT_ATTR_IDMAP is set or cleared */
        .userns_fd = userns_fd >= 0 ? (uint64_t)userns_fd : 0,
    };
    return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr,
                        sizeof(attr));
}
