package io.weightfs.serve;

/**
 * One entry of a repo's tree: a file, or a directory (which has no {@link ServedFile}).
 *
 * @param path the path inside the repo
 * @param file the file, or null for a directory
 * @param dirOid for a directory, a sha1 over everything below it (changes when anything below does)
 */
record TreeNode(String path, ServedFile file, String dirOid) {
    boolean isDirectory() {
        return file == null;
    }
}
