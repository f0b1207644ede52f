package io.weightfs.serve;

import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import java.nio.charset.StandardCharsets;

/**
 * The git-lfs pointer file that stands in a git tree for an LFS blob; the Hub's tree {@code oid}
 * of an LFS file is the git blob sha1 of this text, and {@code pointerSize} is its length
 * (HUB-PROTOCOL.md §2, §10).
 */
final class LfsPointer {
    private LfsPointer() {}

    static byte[] text(String sha256, long size) {
        return ("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256 + "\nsize " + size + "\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** The git blob sha1 of the pointer, hex. */
    static String gitOid(byte[] pointer) {
        return ContentHasher.hash(pointer, ContentHash.Algorithm.GIT_SHA1).hex();
    }
}
