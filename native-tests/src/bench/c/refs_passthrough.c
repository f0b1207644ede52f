/*
 * refs_passthrough: the warm-read reference for weightfs's benchmark (bench.sh builds it).
 *
 * A minimal read-only libfuse3 passthrough: every path under the mount is the same path under
 * SOURCE, with symbolic links followed, so a SOURCE tree of links to a weightfs store's blob files
 * serves those blobs under their mount names. It is configured the way weightfs mounts itself
 * (MountOptions/JfuseAdapter): read-only, kernel page cache kept across opens, one-hour attribute
 * and entry caches, async reads, 1 MiB max_readahead; the benchmark raises the bdi's read_ahead_kb
 * to 4096 after mounting, as weightfs does. libfuse3's default multi-threaded loop serves it.
 *
 *   refs_passthrough SOURCE MOUNTPOINT [-f] [-o opt,...]
 *
 * Build: gcc -O2 -Wall -o refs_passthrough refs_passthrough.c $(pkg-config --cflags --libs fuse3)
 */
#define FUSE_USE_VERSION 35
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char source[PATH_MAX];

static int full(const char *path, char *out) {
    int n = snprintf(out, PATH_MAX, "%s%s", source, path);
    return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static void *ref_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
    conn->want |= (conn->capable & FUSE_CAP_ASYNC_READ);
    conn->max_readahead = 1 << 20;
    cfg->kernel_cache = 1;
    cfg->attr_timeout = 3600;
    cfg->entry_timeout = 3600;
    cfg->negative_timeout = 0;
    return NULL;
}

static int ref_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    char p[PATH_MAX];
    int rc = full(path, p);
    if (rc) return rc;
    if (stat(p, st) == -1) return -errno; /* follows links: a blob shows as a regular file */
    st->st_mode &= ~0222;
    return 0;
}

static int ref_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
        enum fuse_readdir_flags flags) {
    char p[PATH_MAX];
    int rc = full(path, p);
    if (rc) return rc;
    DIR *d = opendir(p);
    if (!d) return -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (fill(buf, e->d_name, NULL, 0, 0)) break;
    }
    closedir(d);
    return 0;
}

static int ref_open(const char *path, struct fuse_file_info *fi) {
    if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EROFS;
    char p[PATH_MAX];
    int rc = full(path, p);
    if (rc) return rc;
    int fd = open(p, O_RDONLY);
    if (fd == -1) return -errno;
    fi->fh = fd;
    fi->keep_cache = 1;
    return 0;
}

static int ref_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    size_t done = 0;
    while (done < size) {
        ssize_t r = pread((int) fi->fh, buf + done, size - done, off + (off_t) done);
        if (r == -1) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (r == 0) break;
        done += (size_t) r;
    }
    return (int) done;
}

static int ref_release(const char *path, struct fuse_file_info *fi) {
    close((int) fi->fh);
    return 0;
}

static const struct fuse_operations ops = {
    .init = ref_init,
    .getattr = ref_getattr,
    .readdir = ref_readdir,
    .open = ref_open,
    .read = ref_read,
    .release = ref_release,
};

int main(int argc, char *argv[]) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SOURCE MOUNTPOINT [fuse options]\n", argv[0]);
        return 2;
    }
    if (!realpath(argv[1], source)) {
        perror(argv[1]);
        return 2;
    }
    /* drop SOURCE from argv: libfuse parses the rest */
    for (int i = 1; i < argc - 1; i++) argv[i] = argv[i + 1];
    argc--;
    return fuse_main(argc, argv, &ops, NULL);
}
