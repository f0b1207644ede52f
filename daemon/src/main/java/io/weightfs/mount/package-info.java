/**
 * The mount daemon: puts config, Hub client, manifests, node store, fetcher, prefetcher,
 * filesystem and FUSE mount together in the right order, and takes them apart again. It owns the
 * lifetime of every thread below it; nothing here decides policy.
 */
package io.weightfs.mount;
