package io.weightfs.fs;

/**
 * What {@code statfs} reports.
 *
 * @param blockSize the unit of the counts below
 * @param totalBlocks size of all files, in blocks
 * @param freeBlocks always 0: the filesystem is read-only
 * @param files number of nodes
 * @param nameMax longest name
 */
public record FsStats(long blockSize, long totalBlocks, long freeBlocks, long files, long nameMax) {}
