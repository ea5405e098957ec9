/* A hostile container process for tests/security (built static on the host, bound into the
 * container).  Modes:
 *
 *   attacker probe PID            try every way into PID; one line of NAME=RESULT
 *   attacker watch COMM STOPFILE  probe every process named COMM as soon as it shows up in
 *                                 /proc, until STOPFILE exists
 *   attacker swap A B STOPFILE    exchange the names A and B (a directory and a symlink) in a
 *                                 tight loop, until STOPFILE exists
 *
 * RESULT is "ok" (the way in worked), "post" (it worked, but the process had execve'd
 * already: its name is no longer COMM), or the errno name of the refusal.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static const char *want_comm; /* NULL in probe mode */

static int read_comm(int pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    if (buf[n - 1] == '\n')
        buf[n - 1] = 0;
    return 0;
}

/* "ok" only while the target is still the process we meant to attack. */
static const char *verdict(int pid, int err)
{
    if (err)
        return strerrorname_np(err) ? strerrorname_np(err) : "error";
    if (want_comm) {
        char comm[64];
        if (read_comm(pid, comm, sizeof comm) < 0 || strcmp(comm, want_comm) != 0)
            return "post";
    }
    return "ok";
}

static int try_open(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

static int try_fds(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d)
        return errno;
    int result = ENOENT;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char fdpath[300];
        snprintf(fdpath, sizeof fdpath, "/proc/%d/fd/%s", pid, e->d_name);
        result = try_open(fdpath, O_PATH);
        if (result == 0)
            break;
    }
    closedir(d);
    return result;
}

static int try_ptrace(int pid)
{
    pid_t child = fork();
    if (child < 0)
        return errno;
    if (child == 0) /* the tracer; its exit detaches */
        _exit(ptrace(PTRACE_SEIZE, pid, 0, 0) == 0 ? 0 : errno);
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status))
        return ECHILD;
    return WEXITSTATUS(status);
}

static void probe(int pid)
{
    char path[64], link[4096];
    int err;

    printf("pid=%d", pid);
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t n = readlink(path, link, sizeof link - 1);
    err = n < 0 ? errno : 0;
    printf(" exe-link=%s", verdict(pid, err));
    printf(" exe-read=%s", verdict(pid, try_open(path, O_RDONLY)));
    /* O_WRONLY without O_TRUNC, and nothing is written */
    printf(" exe-write=%s", verdict(pid, try_open(path, O_WRONLY | O_APPEND)));
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    printf(" mem=%s", verdict(pid, try_open(path, O_RDONLY)));
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    printf(" environ=%s", verdict(pid, try_open(path, O_RDONLY)));
    printf(" fd=%s", verdict(pid, try_fds(pid)));
    printf(" ptrace=%s\n", verdict(pid, try_ptrace(pid)));
    fflush(stdout);
}

static int watch(const char *stopfile)
{
    static char seen[1 << 16];
    int self = getpid();
    while (access(stopfile, F_OK) != 0) {
        DIR *d = opendir("/proc");
        if (!d)
            return 1;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            int pid = atoi(e->d_name);
            if (pid <= 0 || pid == self || pid >= (int)sizeof seen || seen[pid])
                continue;
            char comm[64];
            if (read_comm(pid, comm, sizeof comm) == 0 && strcmp(comm, want_comm) == 0) {
                seen[pid] = 1;
                probe(pid);
            }
        }
        closedir(d);
    }
    return 0;
}

static int swap(const char *a, const char *b, const char *stopfile)
{
    unsigned long n = 0;
    while (n++ % 64 != 0 || access(stopfile, F_OK) != 0)
        if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) < 0) {
            perror("renameat2");
            return 1;
        }
    printf("swaps=%lu\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && strcmp(argv[1], "probe") == 0) {
        probe(atoi(argv[2]));
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "watch") == 0) {
        want_comm = argv[2];
        return watch(argv[3]);
    }
    if (argc == 5 && strcmp(argv[1], "swap") == 0)
        return swap(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: attacker probe PID | watch COMM STOPFILE | swap A B STOPFILE\n");
    return 2;
}
