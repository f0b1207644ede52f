package io.weightfs.manifest;

import io.weightfs.config.Redactor;
import java.io.IOException;

/**
 * A repo's file list that breaks {@link ListingRules} (or one the Hub client refused for its shape
 * or its pagination): nothing is built from it, nothing is written for it. The message names the
 * repo, the revision, the commit, the entry at fault and what to do; it is redacted of every token.
 */
public final class ListingException extends IOException {
    private static final long serialVersionUID = 1L;

    ListingException(String repoId, String revision, String commit, String endpoint, String problem) {
        super(Redactor.redact("refusing the file list of " + repoId + " at revision '" + revision + "'"
                + (commit.equals(revision) ? "" : " (commit " + commit + ")") + ": " + problem
                + ". No Hub sends such a listing, so nothing was downloaded or mounted from it;"
                + " check that the endpoint (" + endpoint + ") is the Hub you mean"));
    }
}
