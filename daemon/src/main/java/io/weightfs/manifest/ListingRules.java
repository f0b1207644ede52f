package io.weightfs.manifest;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What a repo's file list must be before anything is built from it: the one home of these rules.
 * {@link ManifestFile} applies the rules on one file, {@link Manifest} those on the files together,
 * and {@link ManifestResolver} turns a breach into a {@link ListingException} that names the repo,
 * the revision and the entry. A listing comes from the network (or from a shared filesystem other
 * nodes write), and its paths decide where files are written and what the mount shows, so:
 * <ul>
 *   <li>a path is relative, {@code /}-separated, with no empty, {@code .} or {@code ..} segment, no
 *       NUL, and no segment longer than {@link #MAX_SEGMENT_BYTES};
 *   <li>a size is not negative and at most {@link #MAX_REPO_BYTES}, and so is the sum of them;
 *   <li>no path appears twice (with the same size or not), and no path is both a file and a folder.
 * </ul>
 * The content hashes' shape is {@link ContentHash}'s rule.
 */
final class ListingRules {
    /** Linux's NAME_MAX: a longer name can be neither created nor looked up. */
    static final int MAX_SEGMENT_BYTES = 255;

    /**
     * 1 PiB, for one file and for a repo's files together. The Hub takes files up to 50 GB and the
     * largest public repos hold a few TB; the cap keeps every sum of sizes (a mount's total, a
     * progress count) and every block number far from overflowing, whatever a listing claims.
     */
    static final long MAX_REPO_BYTES = 1L << 50;

    private ListingRules() {}

    /** Why {@code path} cannot be a file's repo path, or empty if it can. */
    static Optional<String> pathProblem(String path) {
        if (path.isEmpty()) {
            return Optional.of("has an empty path");
        }
        if (path.indexOf('\0') >= 0) {
            return Optional.of("has a NUL character in its path");
        }
        if (path.startsWith("/")) {
            return Optional.of("has an absolute path (it starts with '/')");
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty()) {
                return Optional.of("has an empty path segment ('//' or a trailing '/')");
            }
            if (segment.equals(".") || segment.equals("..")) {
                // A path from the network decides where a file is written: never let it climb out.
                return Optional.of("has a '" + segment + "' path segment");
            }
            if (segment.getBytes(StandardCharsets.UTF_8).length > MAX_SEGMENT_BYTES) {
                return Optional.of("has a path segment longer than " + MAX_SEGMENT_BYTES + " bytes");
            }
        }
        return Optional.empty();
    }

    /** Why {@code size} cannot be a file's size, or empty if it can. */
    static Optional<String> sizeProblem(long size) {
        if (size < 0) {
            return Optional.of("has a negative size (" + size + ")");
        }
        if (size > MAX_REPO_BYTES) {
            return Optional.of("has a size of " + size + " bytes, more than the " + MAX_REPO_BYTES + " (1 PiB) weightfs takes");
        }
        return Optional.empty();
    }

    /**
     * Why these files cannot be one repo's files together (a path twice, a path that is a file and
     * a folder, a total beyond {@link #MAX_REPO_BYTES}), naming the first entry at fault.
     */
    static Optional<String> togetherProblem(List<ManifestFile> files) {
        Set<String> paths = new HashSet<>(files.size() * 2);
        long total = 0;
        for (ManifestFile f : files) {
            if (!paths.add(f.path())) {
                return Optional.of("entry " + quoted(f.path()) + " is listed more than once");
            }
            total += f.size(); // each at most 2^50 (ManifestFile), so no overflow before the check below
            if (total > MAX_REPO_BYTES) {
                return Optional.of("entry " + quoted(f.path()) + " brings the repo's total size beyond "
                        + MAX_REPO_BYTES + " bytes (1 PiB)");
            }
        }
        for (ManifestFile f : files) {
            String p = f.path();
            for (int slash = p.indexOf('/'); slash >= 0; slash = p.indexOf('/', slash + 1)) {
                String folder = p.substring(0, slash);
                if (paths.contains(folder)) {
                    return Optional.of("entry " + quoted(folder) + " is both a file and the folder of " + quoted(p));
                }
            }
        }
        return Optional.empty();
    }

    /** A path for a message: quoted, control characters escaped, at most 200 characters. */
    static String quoted(String path) {
        StringBuilder sb = new StringBuilder("'");
        int[] n = {0};
        path.codePoints().limit(200).forEach(c -> {
            n[0]++;
            if (Character.isISOControl(c)) {
                sb.append(c == 0 ? "\\0" : String.format("\\u%04x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        if (path.codePointCount(0, path.length()) > n[0]) {
            sb.append("...");
        }
        return sb.append('\'').toString();
    }
}
