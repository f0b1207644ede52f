package io.weightfs.fs;

/**
 * What {@code stat} says of a node.
 *
 * @param inode stable inode number
 * @param directory true for a directory, false for a regular file
 * @param size bytes (files); 0 for directories
 * @param mtimeMillis modification time; stable across restarts for the same commit
 * @param mode permission bits only (e.g. 0444 or 0555); the adapter adds the file type
 * @param links link count
 */
public record Attr(long inode, boolean directory, long size, long mtimeMillis, int mode, int links) {}
