package io.weightfs.serve;

import io.weightfs.config.RepoType;
import java.util.Set;

/**
 * Who may see what, with the Hub's answers (HUB-PROTOCOL.md §5):
 * <ul>
 *   <li>A bearer token nobody knows (no sidecar grants it and it is not a server-wide token) is 401
 *       {@code InvalidCredentials} everywhere, unless no token is configured at all, in which case
 *       any token is accepted on public repos (the usual test and demo setup).
 *   <li>A private repo without a granted token is indistinguishable from a missing one: 401
 *       {@code RepoNotFound} to anonymous callers, 404 to authenticated ones.
 *   <li>A gated repo's metadata (model info) is public, as on the Hub; its listings and files need a
 *       granted token: 401 {@code GatedRepo} anonymous, 403 with a token not on its list.
 * </ul>
 * Immutable; the catalog is passed in so one request sees one catalog.
 */
final class AccessPolicy {
    private final Set<String> serverTokens;

    AccessPolicy(Set<String> serverTokens) {
        this.serverTokens = Set.copyOf(serverTokens);
    }

    void checkCredentials(Caller caller, RepoCatalog catalog) {
        if (!caller.authenticated() || (serverTokens.isEmpty() && catalog.repoTokens().isEmpty())) {
            return;
        }
        String t = caller.token();
        if (t == null || !(serverTokens.contains(t) || catalog.repoTokens().contains(t))) {
            throw HubError.invalidCredentials();
        }
    }

    /** The repo if it exists and the caller may know it does; else RepoNotFound. */
    ServedRepo visibleRepo(RepoCatalog catalog, RepoType type, String repoId, Caller caller) {
        ServedRepo repo = catalog.repo(type, repoId);
        if (repo == null || (repo.access().isPrivate() && !granted(repo, caller))) {
            throw HubError.repoNotFound(caller.authenticated());
        }
        return repo;
    }

    /** Passes if the repo is not gated or the caller's token is granted it; else GatedRepo. */
    void checkGate(ServedRepo repo, Caller caller, String host) {
        if (repo.access().gated() == null || granted(repo, caller)) {
            return;
        }
        if (!caller.authenticated()) {
            throw new HubError(401, "GatedRepo", "Access to " + repo.type().singular() + " " + repo.id()
                    + " is restricted. You must have access to it and be authenticated to access it. Please log in.");
        }
        throw new HubError(403, "GatedRepo", "Access to " + repo.type().singular() + " " + repo.id()
                + " is restricted and you are not in the authorized list. Visit http://" + host + "/" + repo.key()
                + " to ask for access.");
    }

    private boolean granted(ServedRepo repo, Caller caller) {
        String t = caller.token();
        return t != null && (serverTokens.contains(t) || repo.access().tokens().contains(t));
    }
}
