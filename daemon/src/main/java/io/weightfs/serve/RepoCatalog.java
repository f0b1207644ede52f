package io.weightfs.serve;

import io.weightfs.config.RepoType;
import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.LfsPointer;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every repo under the served directory, scanned and hashed: {@code DIR/<org>/<name>/...}. Immutable;
 * {@link #scan} builds a new catalog, reusing the hashes of files whose size and modification time
 * did not change since the previous one.
 *
 * <p>Models are {@code DIR/<org>/<name>}, datasets {@code DIR/datasets/<org>/<name>}; a repo's refs
 * come from its {@code .weightfs-refs.json} ({@link RepoRefs}), each ref folder hashed once however
 * many refs name it. Skipped: names starting with {@code .} at the org and repo level, anything under
 * a {@code .git} directory, and the sidecars {@code .weightfs-repo.json} and
 * {@code .weightfs-refs.json}. Symbolic links are followed, so a Hugging Face cache snapshot (links
 * into {@code blobs/}) can be served as it is.
 */
final class RepoCatalog {
    private static final Logger LOG = LoggerFactory.getLogger(RepoCatalog.class);
    /** The Hub's rule for each part of a repo id (HUB-PROTOCOL.md §0). */
    /** The top-level folder holding dataset repos, {@code DIR/datasets/<org>/<name>} (the Hub reserves the name). */
    static final String DATASETS_DIR = "datasets";
    private static final Pattern REPO_ID_PART = Pattern.compile("(?U)(?![.-])(?!.*(--|\\.\\.))[\\w.-]{1,96}(?<![.-])");

    /**
     * A file modified this close to (or after) the previous scan's start may have changed again
     * within the same timestamp tick after it was hashed (file times are jiffy-coarse on Linux, and
     * clocks drift): it is rehashed, as git does with "racily clean" entries.
     */
    private static final long RACY_MARGIN_MILLIS = 2_000;

    private final Map<String, ServedRepo> repos;
    /** Wall-clock time the scan that built this catalog began; Long.MIN_VALUE for the empty one. */
    private final long scannedAtMillis;
    private final Map<String, ServedFile> blobsBySha256;
    /** sha256 of LFS blobs that at least one unrestricted repo holds. */
    private final Set<String> publicBlobs;
    private final Set<String> repoTokens;

    private RepoCatalog(Map<String, ServedRepo> repos, long scannedAtMillis) {
        this.repos = Map.copyOf(repos);
        this.scannedAtMillis = scannedAtMillis;
        Map<String, ServedFile> blobs = new HashMap<>();
        Set<String> open = new HashSet<>();
        Set<String> tokens = new LinkedHashSet<>();
        for (ServedRepo r : repos.values()) {
            tokens.addAll(r.access().tokens());
            for (ServedFile f : r.allFiles()) {
                if (f.lfs()) {
                    blobs.putIfAbsent(f.sha256(), f);
                    if (!r.access().restricted()) {
                        open.add(f.sha256());
                    }
                }
            }
        }
        this.blobsBySha256 = Map.copyOf(blobs);
        this.publicBlobs = Set.copyOf(open);
        this.repoTokens = Set.copyOf(tokens);
    }

    static RepoCatalog empty() {
        return new RepoCatalog(Map.of(), Long.MIN_VALUE);
    }

    /** The repo by its key ({@code org/name} for a model, {@code datasets/org/name} for a dataset), or null. */
    ServedRepo repo(String key) {
        return repos.get(key);
    }

    ServedRepo repo(RepoType type, String id) {
        return repos.get(type.qualify(id));
    }

    Map<String, ServedRepo> repos() {
        return repos;
    }

    /** An LFS file with this sha256 (any repo), or null. */
    ServedFile blob(String sha256) {
        return blobsBySha256.get(sha256);
    }

    /** Whether some public (neither private nor gated) repo holds this LFS blob. */
    boolean isPublicBlob(String sha256) {
        return publicBlobs.contains(sha256);
    }

    /** Every token some repo's sidecar grants. */
    Set<String> repoTokens() {
        return repoTokens;
    }

    /**
     * Scans {@code root} and hashes every new or changed file on {@code hashPool}.
     *
     * @param previous the catalog whose hashes may be reused (unchanged size and mtime)
     * @throws IOException if the directory cannot be read, a sidecar is malformed or a file cannot
     *     be hashed; the message names the path
     */
    static RepoCatalog scan(Path root, ServeOptions options, ExecutorService hashPool, RepoCatalog previous)
            throws IOException {
        if (!Files.isDirectory(root)) {
            throw new IOException("repos directory " + root + " does not exist or is not a directory"
                    + " (want DIR/<org>/<name>/<files>)");
        }
        long started = System.nanoTime();
        long scanStartedMillis = System.currentTimeMillis();
        long settledBefore = previous.scannedAtMillis == Long.MIN_VALUE
                ? Long.MIN_VALUE
                : previous.scannedAtMillis - RACY_MARGIN_MILLIS;
        record RepoDir(String id, RepoType type, Path dir) {}
        List<RepoDir> repoDirs = new ArrayList<>();
        for (Path org : sortedChildren(root)) {
            if (!Files.isDirectory(org) || hidden(org)) {
                continue;
            }
            RepoType type = org.getFileName().toString().equals(DATASETS_DIR) ? RepoType.DATASET : RepoType.MODEL;
            List<Path> orgs = type == RepoType.DATASET ? sortedChildren(org) : List.of(org);
            for (Path owner : orgs) {
                if (!Files.isDirectory(owner) || hidden(owner)) {
                    continue;
                }
                for (Path name : sortedChildren(owner)) {
                    if (!Files.isDirectory(name) || hidden(name)) {
                        continue;
                    }
                    String id = owner.getFileName() + "/" + name.getFileName();
                    if (!REPO_ID_PART.matcher(owner.getFileName().toString()).matches()
                            || !REPO_ID_PART.matcher(name.getFileName().toString()).matches()) {
                        LOG.warn("Serving {} although Hub clients will refuse its name (each part must match [\\w.-]{{1,96}},"
                                + " not start or end with '-' or '.', and hold no '--' or '..'); rename the folder to reach it"
                                + " from huggingface_hub", id);
                    }
                    repoDirs.add(new RepoDir(id, type, name));
                }
            }
        }

        record PendingSnapshot(List<Future<ServedFile>> files, Instant lastModified) {}
        record Pending(RepoDir repo, RepoAccess access, RepoRefs refs, Map<String, PendingSnapshot> byFolder) {}
        List<Pending> pending = new ArrayList<>();
        int rehashed = 0;
        long bytes = 0;
        for (RepoDir rd : repoDirs) {
            Path dir = rd.dir();
            RepoAccess access = RepoAccess.read(dir);
            RepoRefs refs = RepoRefs.read(dir);
            ServedRepo before = previous.repo(rd.type().qualify(rd.id()));
            Map<String, PendingSnapshot> byFolder = new LinkedHashMap<>();
            for (String folder : refs.folders()) {
                Path top = folder.isEmpty() ? dir : dir.resolve(folder);
                // Another ref's folder below this one belongs to that ref only.
                Set<Path> skip = new HashSet<>();
                for (String other : refs.folders()) {
                    if (!other.equals(folder) && (folder.isEmpty() || other.startsWith(folder + "/"))) {
                        skip.add(dir.resolve(other));
                    }
                }
                List<Future<ServedFile>> futures = new ArrayList<>();
                long newest = Files.getLastModifiedTime(top).toMillis();
                for (Found found : walk(top, skip)) {
                    newest = Math.max(newest, found.modifiedMillis());
                    bytes += found.size();
                    boolean lfs = options.isLfs(found.path(), found.size());
                    ServedFile old = before == null ? null : before.fileOnDisk(found.file());
                    if (old != null && old.path().equals(found.path()) && old.size() == found.size()
                            && old.modifiedMillis() == found.modifiedMillis() && old.lfs() == lfs
                            && found.modifiedMillis() < settledBefore) {
                        futures.add(CompletableFuture.completedFuture(old));
                    } else {
                        rehashed++;
                        String key = rd.type().qualify(rd.id());
                        futures.add(hashPool.submit(() -> hash(key, found, lfs)));
                    }
                }
                byFolder.put(folder, new PendingSnapshot(futures, Instant.ofEpochMilli(newest)));
            }
            pending.add(new Pending(rd, access, refs, byFolder));
        }

        Map<String, ServedRepo> repos = new LinkedHashMap<>();
        try {
            for (Pending p : pending) {
                Map<String, ServedSnapshot> snapshots = new HashMap<>();
                for (Map.Entry<String, PendingSnapshot> e : p.byFolder().entrySet()) {
                    List<ServedFile> files = new ArrayList<>(e.getValue().files().size());
                    for (Future<ServedFile> f : e.getValue().files()) {
                        files.add(f.get());
                    }
                    snapshots.put(e.getKey(), ServedSnapshot.build(files, e.getValue().lastModified()));
                }
                Map<String, ServedSnapshot> refs = new LinkedHashMap<>();
                p.refs().refs().forEach((ref, folder) -> refs.put(ref, snapshots.get(folder)));
                ServedRepo repo = new ServedRepo(p.repo().id(), p.repo().type(), p.repo().dir(), p.access(), refs);
                repos.put(repo.key(), repo);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pending.forEach(p -> p.byFolder().values().forEach(s -> s.files().forEach(f -> f.cancel(true))));
            throw new IOException("interrupted while hashing " + root, e);
        } catch (ExecutionException e) {
            pending.forEach(p -> p.byFolder().values().forEach(s -> s.files().forEach(f -> f.cancel(true))));
            Throwable cause = e.getCause();
            throw cause instanceof IOException io ? io : new IOException("hashing under " + root + " failed: " + cause, cause);
        }
        LOG.info("Scanned {}: {} repos, {} files, {} bytes; hashed {} new or changed files in {} ms",
                root, repos.size(), repos.values().stream().mapToInt(r -> r.allFiles().size()).sum(), bytes, rehashed,
                (System.nanoTime() - started) / 1_000_000);
        return new RepoCatalog(repos, scanStartedMillis);
    }

    /** A file found by the walk, before hashing. */
    private record Found(String path, Path file, long size, long modifiedMillis) {}

    /** Every regular file below {@code repoDir}, skipping {@code skip} (other refs' folders), {@code .git} and sidecars. */
    private static List<Found> walk(Path repoDir, Set<Path> skip) throws IOException {
        List<Found> found = new ArrayList<>();
        Files.walkFileTree(repoDir, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                return (dir.getFileName() != null && dir.getFileName().toString().equals(".git")) || skip.contains(dir)
                        ? FileVisitResult.SKIP_SUBTREE
                        : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                String fileName = file.getFileName().toString();
                if (attrs.isRegularFile() && !fileName.equals(RepoAccess.SIDECAR) && !fileName.equals(RepoRefs.SIDECAR)) {
                    StringBuilder rel = new StringBuilder();
                    for (Path part : repoDir.relativize(file)) {
                        if (!rel.isEmpty()) {
                            rel.append('/');
                        }
                        rel.append(part);
                    }
                    found.add(new Found(rel.toString(), file, attrs.size(), attrs.lastModifiedTime().toMillis()));
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                if (exc instanceof FileSystemLoopException) {
                    LOG.warn("Not serving {}: a symbolic link loop", file);
                    return FileVisitResult.CONTINUE;
                }
                throw exc;
            }
        });
        return found;
    }

    private static ServedFile hash(String repo, Found found, boolean lfs) throws IOException {
        if (lfs) {
            ContentHash sha256 = SparseFiles.hash(found.file(), ContentHash.Algorithm.SHA256);
            checkUnchanged(found);
            byte[] pointer = LfsPointer.text(sha256.hex(), found.size());
            return new ServedFile(repo, found.path(), found.file(), found.size(), found.modifiedMillis(), true,
                    LfsPointer.gitOid(pointer), sha256.hex(), pointer.length);
        }
        ContentHash sha1 = SparseFiles.hash(found.file(), ContentHash.Algorithm.GIT_SHA1);
        checkUnchanged(found);
        return new ServedFile(repo, found.path(), found.file(), found.size(), found.modifiedMillis(), false,
                sha1.hex(), null, 0);
    }

    /** A file that changed while being hashed would be served under a wrong hash. */
    private static void checkUnchanged(Found found) throws IOException {
        if (Files.size(found.file()) != found.size()) {
            throw new IOException(found.file() + " changed size while being scanned; serve a directory nobody writes to");
        }
    }

    private static boolean hidden(Path p) {
        return p.getFileName().toString().startsWith(".");
    }

    private static List<Path> sortedChildren(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            s.forEach(out::add);
        }
        out.sort(null);
        return out;
    }
}
