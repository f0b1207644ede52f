package io.weightfs.fs;

/** One name in a directory listing, with its attributes (for readdirplus). */
public record DirEntry(String name, Attr attr) {}
