/* In-container probe of the conformance harness: prints what the container process sees
 * as one JSON object on stdout.  Each argument names a probe; its findings go under a key
 * of the same name.  Static, libc only, so it runs in a bare busybox rootfs.
 *
 *   checker ids caps rlimits uname cwd umask env ns mountinfo fds pid personality
 *           file:PATH stat:PATH ls:DIR write:PATH mkfile:DIR
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;
static int first_key = 1;

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void key(const char *k)
{
    if (!first_key)
        putchar(',');
    first_key = 0;
    json_str(k);
    putchar(':');
}

static void err_obj(int e)
{
    printf("{\"ok\":false,\"errno\":");
    json_str(strerrorname_np(e) ? strerrorname_np(e) : "?");
    putchar('}');
}

/* file contents as one string; the caller keeps the size modest */
static int read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    int e = r < 0 ? errno : 0;
    close(fd);
    buf[n] = 0;
    return e ? -e : (int)n;
}

static char big[1 << 18];

static void probe_lines(const char *path)
{
    int n = read_file(path, big, sizeof big);
    if (n < 0) {
        err_obj(-n);
        return;
    }
    putchar('[');
    int first = 1;
    for (char *line = strtok(big, "\n"); line; line = strtok(NULL, "\n")) {
        if (!first)
            putchar(',');
        first = 0;
        json_str(line);
    }
    putchar(']');
}

static void probe_ids(void)
{
    gid_t groups[256];
    int n = getgroups(256, groups);
    printf("{\"uid\":%u,\"gid\":%u,\"euid\":%u,\"egid\":%u,\"groups\":[", getuid(), getgid(),
           geteuid(), getegid());
    for (int i = 0; i < n; i++)
        printf("%s%u", i ? "," : "", groups[i]);
    printf("]}");
}

static const struct { const char *name; int res; } rlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

static void rlim_val(rlim_t v)
{
    if (v == RLIM_INFINITY)
        printf("-1");
    else
        printf("%llu", (unsigned long long)v);
}

static void probe_rlimits(void)
{
    putchar('{');
    for (size_t i = 0; i < sizeof rlimits / sizeof rlimits[0]; i++) {
        struct rlimit rl;
        printf("%s", i ? "," : "");
        json_str(rlimits[i].name);
        if (getrlimit(rlimits[i].res, &rl) != 0) {
            printf(":null");
            continue;
        }
        printf(":{\"soft\":");
        rlim_val(rl.rlim_cur);
        printf(",\"hard\":");
        rlim_val(rl.rlim_max);
        putchar('}');
    }
    putchar('}');
}

static void probe_status(void)
{
    int n = read_file("/proc/self/status", big, sizeof big);
    if (n < 0) {
        err_obj(-n);
        return;
    }
    putchar('{');
    int first = 1;
    for (char *line = strtok(big, "\n"); line; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon++ = 0;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        if (!first)
            putchar(',');
        first = 0;
        json_str(line);
        putchar(':');
        json_str(colon);
    }
    putchar('}');
}

static void probe_ns(void)
{
    static const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
    putchar('{');
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[64], target[128];
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        printf("%s", i ? "," : "");
        json_str(names[i]);
        putchar(':');
        json_str(target);
    }
    putchar('}');
}

static void probe_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        err_obj(errno);
        return;
    }
    int self = dirfd(d), first = 1;
    struct dirent *de;
    putchar('{');
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || atoi(de->d_name) == self)
            continue;
        char path[300], target[512];
        snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        printf("%s", first ? "" : ",");
        first = 0;
        json_str(de->d_name);
        putchar(':');
        json_str(target);
    }
    closedir(d);
    putchar('}');
}

static const char *type_name(mode_t m)
{
    return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" : S_ISCHR(m) ? "char"
         : S_ISBLK(m) ? "block" : S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "socket" : "?";
}

static void probe_stat(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        err_obj(errno);
        return;
    }
    printf("{\"ok\":true,\"type\":\"%s\",\"mode\":%u,\"uid\":%u,\"gid\":%u,\"major\":%u,"
           "\"minor\":%u,\"size\":%lld", type_name(st.st_mode), st.st_mode & 07777, st.st_uid,
           st.st_gid, major(st.st_rdev), minor(st.st_rdev), (long long)st.st_size);
    if (S_ISLNK(st.st_mode)) {
        char target[512];
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        printf(",\"link\":");
        json_str(target);
    }
    putchar('}');
}

static void probe_file(const char *path)
{
    static char buf[8192];
    int n = read_file(path, buf, sizeof buf);
    if (n < 0) {
        err_obj(-n);
        return;
    }
    printf("{\"ok\":true,\"data\":");
    json_str(buf);
    putchar('}');
}

static void probe_ls(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        err_obj(errno);
        return;
    }
    struct dirent *de;
    int first = 1;
    putchar('[');
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        printf("%s", first ? "" : ",");
        first = 0;
        json_str(de->d_name);
    }
    closedir(d);
    putchar(']');
}

static void probe_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        err_obj(errno);
        return;
    }
    close(fd);
    printf("{\"ok\":true}");
}

static void probe_mkfile(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.conformance-probe", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        err_obj(errno);
        return;
    }
    close(fd);
    unlink(path);
    printf("{\"ok\":true}");
}

int main(int argc, char **argv)
{
    putchar('{');
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        key(a);
        if (!strcmp(a, "ids"))
            probe_ids();
        else if (!strcmp(a, "status"))
            probe_status();
        else if (!strcmp(a, "rlimits"))
            probe_rlimits();
        else if (!strcmp(a, "uname")) {
            struct utsname u;
            uname(&u);
            printf("{\"nodename\":");
            json_str(u.nodename);
            printf(",\"domainname\":");
            json_str(u.domainname);
            putchar('}');
        } else if (!strcmp(a, "cwd")) {
            char buf[4096];
            json_str(getcwd(buf, sizeof buf) ? buf : "");
        } else if (!strcmp(a, "umask")) {
            mode_t m = umask(0);
            umask(m);
            printf("%u", m);
        } else if (!strcmp(a, "env")) {
            putchar('[');
            for (char **e = environ; *e; e++) {
                printf("%s", e == environ ? "" : ",");
                json_str(*e);
            }
            putchar(']');
        } else if (!strcmp(a, "ns"))
            probe_ns();
        else if (!strcmp(a, "mountinfo"))
            probe_lines("/proc/self/mountinfo");
        else if (!strcmp(a, "fds"))
            probe_fds();
        else if (!strcmp(a, "pid"))
            printf("{\"pid\":%d,\"ppid\":%d}", getpid(), getppid());
        else if (!strcmp(a, "personality"))
            printf("%d", personality(0xffffffff));
        else if (!strncmp(a, "file:", 5))
            probe_file(a + 5);
        else if (!strncmp(a, "stat:", 5))
            probe_stat(a + 5);
        else if (!strncmp(a, "ls:", 3))
            probe_ls(a + 3);
        else if (!strncmp(a, "write:", 6))
            probe_write(a + 6);
        else if (!strncmp(a, "mkfile:", 7))
            probe_mkfile(a + 7);
        else
            printf("null");
    }
    printf("}\n");
    return 0;
}
