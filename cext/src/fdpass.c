/* Passing one file descriptor over a unix socket (SCM_RIGHTS), with a small
   payload: the console-socket protocol sends the pty master with the pty's
   name as the data. */
#include <string.h>

#include "pyrunc.h"

int pyrunc_send_fd(int sock, int fd, const char *data, size_t len)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg;
    struct iovec iov;
    struct cmsghdr *cmsg;
    char nul = '\0';
    ssize_t n;

    /* a stream socket drops control data that comes with no payload, so an
       empty payload goes as one NUL byte */
    if (len == 0) {
        data = &nul;
        len = 1;
    }

    memset(&control, 0, sizeof(control));
    memset(&msg, 0, sizeof(msg));
    iov.iov_base = (void *)data;
    iov.iov_len = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));

    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;

    /* the descriptor went with the first chunk; a stream socket may take
       the rest of a long payload in further writes */
    while ((size_t)n < len) {
        ssize_t m = send(sock, data + n, len - (size_t)n, MSG_NOSIGNAL);
        if (m < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        n += m;
    }
    return 0;
}

int pyrunc_recv_fd(int sock, char *buf, size_t cap, size_t *len, int *fd)
{
    union {
        struct cmsghdr hdr;
        /* room for a few descriptors so that extra ones can be closed
           rather than leaked */
        char buf[CMSG_SPACE(sizeof(int) * 8)];
    } control;
    struct msghdr msg;
    struct iovec iov;
    struct cmsghdr *cmsg;
    ssize_t n;
    int got = -1, truncated;

    memset(&control, 0, sizeof(control));
    memset(&msg, 0, sizeof(msg));
    iov.iov_base = buf;
    iov.iov_len = cap;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);

    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;

    for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        size_t i, count;
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
            continue;
        count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < count; i++) {
            int one;
            memcpy(&one, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
            if (got < 0)
                got = one;
            else
                close(one);
        }
    }

    truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    if (truncated) {
        if (got >= 0)
            close(got);
        errno = EMSGSIZE;
        return -1;
    }
    if (got < 0) {
        errno = n == 0 ? ECONNRESET : EBADMSG;
        return -1;
    }
    *len = (size_t)n;
    *fd = got;
    return 0;
}
