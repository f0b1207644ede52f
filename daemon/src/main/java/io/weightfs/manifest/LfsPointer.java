package io.weightfs.manifest;

import java.nio.charset.StandardCharsets;

/**
 * The git-lfs pointer file that stands in a git tree for an LFS blob; the Hub's tree {@code oid}
 * of an LFS file is the git blob sha1 of this text, and {@code pointerSize} is its length
 * (HUB-PROTOCOL.md §2, §10). The one place this format is written: {@code serve} answers it, the
 * Hugging Face cache view names LFS files by it.
 */
public final class LfsPointer {
    private LfsPointer() {}

    public static byte[] text(String sha256, long size) {
        return ("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256 + "\nsize " + size + "\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** The git blob sha1 of the pointer, hex. */
    public static String gitOid(byte[] pointer) {
        return ContentHasher.hash(pointer, ContentHash.Algorithm.GIT_SHA1).hex();
    }

    /** The git blob sha1 (hex) that names a file in a git tree: its own for a regular file, its pointer's for LFS. */
    public static String gitOid(ManifestFile f) {
        return f.isLfs() ? gitOid(text(f.hash().hex(), f.size())) : f.hash().hex();
    }
}
