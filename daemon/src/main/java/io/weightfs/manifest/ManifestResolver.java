package io.weightfs.manifest;

import io.weightfs.config.RepoEntry;
import io.weightfs.config.RepoType;
import io.weightfs.config.Token;
import io.weightfs.hub.HubClient;
import io.weightfs.hub.HubException;
import io.weightfs.hub.TreeFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns repo@revision into a pinned {@link Manifest}: from the store when the commit was seen
 * before (no network), else from the Hub's tree listing, then saved.
 *
 * <p>A branch must be asked of the Hub each time (it moves). If the Hub cannot be reached (a
 * network failure, or {@code HF_HUB_OFFLINE}), the commit the branch pointed to last time is used,
 * with a warning, as huggingface_hub does. Answers that say the repo or revision does not exist, or
 * that the token is refused, are never papered over with a cached copy.
 */
public final class ManifestResolver {
    private static final Logger LOG = LoggerFactory.getLogger(ManifestResolver.class);

    private final HubClient hub;
    private final ManifestStore store;
    /** The shared tier's manifests: a second place to find a pinned commit without the Hub. */
    private final Optional<ManifestStore> shared;

    public ManifestResolver(HubClient hub, ManifestStore store) {
        this(hub, store, Optional.empty());
    }

    public ManifestResolver(HubClient hub, ManifestStore store, Optional<ManifestStore> shared) {
        this.hub = hub;
        this.store = store;
        this.shared = shared;
    }

    /**
     * Pins a config entry and applies its patterns.
     *
     * @throws NothingMatchesException if the patterns select none of the repo's files
     */
    public ResolvedEntry resolve(RepoEntry entry, Optional<Token> token) throws IOException {
        return select(entry, resolve(entry.repoType(), entry.repoId(), entry.revision(), token), token);
    }

    /**
     * Pins an entry to a commit known beforehand, without asking the Hub where its revision points:
     * a baked entry, whose files are those of the commit it was baked at. The manifest comes from
     * the store, else from {@code known} (the baked manifests), and is saved in the store.
     *
     * @throws IOException if neither holds the manifest of that commit
     */
    public ResolvedEntry resolveAt(RepoEntry entry, String commit, ManifestStore known, Optional<Token> token) throws IOException {
        Optional<Manifest> m = store.load(entry.repoType(), entry.repoId(), commit);
        if (m.isEmpty()) {
            m = known.load(entry.repoType(), entry.repoId(), commit);
            if (m.isEmpty()) {
                throw new IOException("no manifest of " + entry.repoType().qualify(entry.repoId()) + "@" + commit + " in " + known.dir());
            }
            store.save(m.get());
        }
        Manifest pinned = m.get();
        if (!pinned.revision().equals(entry.revision())) {
            pinned = new Manifest(pinned.repoId(), entry.revision(), commit, pinned.files(), pinned.repoType());
        }
        return select(entry, pinned, token);
    }

    private ResolvedEntry select(RepoEntry entry, Manifest m, Optional<Token> token) throws NothingMatchesException {
        PathFilter filter = PathFilter.of(entry.allowPatterns(), entry.ignorePatterns());
        List<ManifestFile> selected = new ArrayList<>();
        for (ManifestFile f : m.files()) {
            if (filter.test(f.path())) {
                selected.add(f);
            }
        }
        if (selected.isEmpty()) {
            StringBuilder examples = new StringBuilder();
            for (int i = 0; i < Math.min(5, m.files().size()); i++) {
                examples.append(i == 0 ? "" : ", ").append(m.files().get(i).path());
            }
            throw new NothingMatchesException(entry.label() + ": " + filter.describe() + " match none of the "
                    + m.files().size() + " files of " + m.repoId() + "@" + m.commit()
                    + (m.files().isEmpty() ? "" : " (e.g. " + examples + ")") + "; fix the patterns in the config");
        }
        return new ResolvedEntry(entry, m, selected, token);
    }

    /** The patterns of an entry select no file: a config mistake, not a network one. */
    public static final class NothingMatchesException extends IOException {
        NothingMatchesException(String message) {
            super(message);
        }
    }

    public Manifest resolve(String repoId, String revision, Optional<Token> token) throws IOException {
        return resolve(RepoType.MODEL, repoId, revision, token);
    }

    public Manifest resolve(RepoType type, String repoId, String revision, Optional<Token> token) throws IOException {
        String commit = commitOf(type, repoId, revision, token);
        Optional<Manifest> stored = store.load(type, repoId, commit);
        if (stored.isEmpty() && shared.isPresent()) {
            stored = shared.get().load(type, repoId, commit);
            if (stored.isPresent()) {
                store.save(stored.get());
            }
        }
        if (stored.isPresent()) {
            Manifest m = stored.get();
            if (!m.revision().equals(revision)) {
                // Same commit reached through another revision name: remember this name too.
                m = new Manifest(repoId, revision, commit, m.files(), type);
                store.save(m);
            }
            return m;
        }
        Manifest m = pin(type, repoId, revision, commit, token);
        store.save(m);
        if (shared.isPresent()) {
            try {
                shared.get().save(m);
            } catch (IOException e) {
                LOG.warn("cannot publish the manifest of {}@{} to the shared tier: {}", repoId, commit, e.toString());
            }
        }
        LOG.info("pinned {}@{} to commit {}: {} files, {} bytes", repoId, revision, commit, m.files().size(), m.totalBytes());
        return m;
    }

    private String commitOf(RepoType type, String repoId, String revision, Optional<Token> token) throws IOException {
        if (Manifest.isCommit(revision)) {
            return revision;
        }
        try {
            return hub.resolveCommit(type, repoId, revision, token);
        } catch (HubException e) {
            if (e.kind() != HubException.Kind.OFFLINE && e.kind() != HubException.Kind.TRANSIENT) {
                throw e;
            }
            return cachedRef(type, repoId, revision, e);
        } catch (IOException e) {
            return cachedRef(type, repoId, revision, e);
        }
    }

    private String cachedRef(RepoType type, String repoId, String revision, IOException cause) throws IOException {
        Optional<String> ref = store.loadRef(type, repoId, revision);
        if (ref.isEmpty() && shared.isPresent()) {
            ref = shared.get().loadRef(type, repoId, revision);
        }
        if (ref.isEmpty()) {
            throw cause;
        }
        LOG.warn("cannot ask the Hub where {}@{} points now ({}); using commit {} from the last start",
                repoId, revision, cause.getMessage(), ref.get());
        return ref.get();
    }

    /**
     * Lists repo@commit and checks the listing against {@link ListingRules}, before anything is
     * saved or created: a breach (or a listing the Hub client refused for its shape) becomes a
     * {@link ListingException} naming the repo, the revision and the entry.
     */
    private Manifest pin(RepoType type, String repoId, String revision, String commit, Optional<Token> token) throws IOException {
        List<TreeFile> tree;
        try {
            tree = hub.listFiles(type, repoId, commit, token);
        } catch (HubException e) {
            if (e.kind() == HubException.Kind.BAD_LISTING) {
                throw new ListingException(repoId, revision, commit, hub.endpoint(), e.getMessage());
            }
            throw e;
        }
        try {
            return new Manifest(repoId, revision, commit, toFiles(tree), type);
        } catch (IllegalArgumentException e) {
            throw new ListingException(repoId, revision, commit, hub.endpoint(), e.getMessage());
        }
    }

    /**
     * The listing's files, sorted by path. Throws {@link IllegalArgumentException} naming the entry
     * for a path, size or hash that breaks the rules.
     */
    static List<ManifestFile> toFiles(List<TreeFile> tree) {
        List<ManifestFile> files = new ArrayList<>(tree.size());
        for (TreeFile t : tree) {
            // The git oid is checked even for LFS files, whose content is named by lfs.oid: an
            // entry with a malformed oid is not a Hub's.
            ContentHash hash = hashOf(t.path(), "oid", t.oid(), ContentHash.Algorithm.GIT_SHA1);
            if (t.lfsSha256() != null) {
                hash = hashOf(t.path(), "lfs.oid", t.lfsSha256(), ContentHash.Algorithm.SHA256);
            }
            files.add(new ManifestFile(t.path(), t.size(), hash));
        }
        files.sort(Comparator.comparing(ManifestFile::path));
        return files;
    }

    private static ContentHash hashOf(String path, String field, String hex, ContentHash.Algorithm algorithm) {
        try {
            return new ContentHash(algorithm, hex);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("entry " + ListingRules.quoted(path) + " has a malformed " + field + " "
                    + ListingRules.quoted(hex) + " (want " + algorithm.hexLength() + " hex digits, a "
                    + (algorithm == ContentHash.Algorithm.SHA256 ? "sha256" : "git blob sha1") + ")");
        }
    }
}
