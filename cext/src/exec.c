/* The container init's last step: wait for the start signal, then execve.

   Everything between the start byte and execve happens here, in C: no
   Python code runs, so no reference count is touched and no page is
   dirtied that a tight memory cgroup would charge to the container.

   Signal state is made what a fresh process expects before the wait:
   every disposition SIG_DFL (Python ignores SIGPIPE and SIGXFSZ, and an
   ignored disposition survives execve) and an empty signal mask. If the
   start is aborted or execve fails, the caller's dispositions and mask are
   put back, so the Python process that gets the error is as it was. */
#include "pyrunc.h"

int pyrunc_exec_when_started(int start_fd, const char *path, char **argv,
                             char **envp, int *stage, int *detail)
{
    struct sigaction old[NSIG];
    unsigned char saved[NSIG];
    struct sigaction dfl;
    sigset_t empty, oldmask;
    int sig, err;

    *stage = 0;
    *detail = 0;

    sigemptyset(&dfl.sa_mask);
    dfl.sa_handler = SIG_DFL;
    dfl.sa_flags = 0;
    for (sig = 1; sig < NSIG; sig++) {
        /* SIGKILL, SIGSTOP and the C library's reserved real-time
           signals refuse; they need no reset */
        saved[sig] = sigaction(sig, &dfl, &old[sig]) == 0;
    }
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, &oldmask);

    if (start_fd >= 0) {
        char byte;
        ssize_t n;
        do
            n = read(start_fd, &byte, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1) {
            if (n == 0) {
                *stage = PYRUNC_STAGE_EOF;
            } else {
                *stage = PYRUNC_STAGE_READ;
                *detail = errno;
            }
            err = ECANCELED;
            goto restore;
        }
    }

    execve(path, argv, envp);
    *stage = PYRUNC_STAGE_EXEC;
    err = errno;

restore:
    for (sig = 1; sig < NSIG; sig++) {
        if (saved[sig])
            sigaction(sig, &old[sig], NULL);
    }
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    errno = err;
    return -1;
}
