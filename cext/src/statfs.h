/* fstatfs(2): which file system an fd is on (procfs, devpts, tmpfs, ...). */
#ifndef PYRUNC_STATFS_H
#define PYRUNC_STATFS_H

/* CDEF-BEGIN */
/* f_type of the file system behind fd (a *_SUPER_MAGIC), or -1 with errno set. */
long long pyrunc_fstatfs_type(int fd);
/* CDEF-END */

#endif
