package io.weightfs.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import okhttp3.HttpUrl;
import org.junit.jupiter.api.Test;

class HubErrorsTest {
    private static final String EP = "https://hub.example";

    private static HubException map(int status, String code, String message, String body, boolean tokenSent) {
        return HubErrors.fromResponse(status, code, message, body, "file 'x' of org/m at 0123abcd", "org/m", tokenSent, EP);
    }

    @Test
    void anonymous401_isRepoNotFoundOrPrivate_andSaysNoTokenWasSent() {
        HubException e = map(401, "RepoNotFound", null, "{\"error\":\"Repository Not Found\"}", false);
        assertEquals(HubException.Kind.REPO_NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains("no token was sent"), e.getMessage());
        assertTrue(e.getMessage().contains("Repository Not Found"), e.getMessage());
    }

    @Test
    void authenticated404_isRepoNotFound_andSaysTheTokenHasNoAccess() {
        HubException e = map(404, "RepoNotFound", null, "", true);
        assertEquals(HubException.Kind.REPO_NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains("token sent has no access"), e.getMessage());
    }

    @Test
    void gatedRepo_pointsToWhereAccessIsAskedFor() {
        HubException e = map(403, "GatedRepo", "Access to model org/m is restricted", "", true);
        assertEquals(HubException.Kind.GATED, e.kind());
        assertTrue(e.getMessage().contains("ask for access at https://hub.example/org/m"), e.getMessage());
    }

    @Test
    void revisionAndEntryNotFound_areTheirOwnKinds() {
        assertEquals(HubException.Kind.REVISION_NOT_FOUND, map(404, "RevisionNotFound", null, "", false).kind());
        assertEquals(HubException.Kind.ENTRY_NOT_FOUND, map(404, "EntryNotFound", null, "", false).kind());
    }

    @Test
    void invalidCredentials_isNotMistakenForAMissingRepo() {
        HubException e = map(401, null, "Invalid credentials in Authorization header", "", true);
        assertEquals(HubException.Kind.INVALID_CREDENTIALS, e.kind());
        assertFalse(e.retryable());
    }

    @Test
    void serverErrorsAndRateLimits_areTransient_andRetryable() {
        assertTrue(map(503, null, null, "", false).retryable());
        assertTrue(map(429, null, null, "", false).retryable());
        assertFalse(map(418, null, null, "", false).retryable());
    }

    @Test
    void errorBodies_inEveryShapeTheHubUses_areQuoted() {
        assertEquals("a; b", HubErrors.serverMessage(null, "{\"error\":[\"a\",\"b\"]}"));
        assertEquals("x; y", HubErrors.serverMessage("x", "{\"error_description\":\"y\"}"));
        assertEquals("m", HubErrors.serverMessage(null, "{\"errors\":[{\"message\":\"m\"}]}"));
        assertEquals("", HubErrors.serverMessage(null, "<html>oops</html>"));
    }

    @Test
    void linkHeader_nextPageIsFound_absoluteOrRelative() {
        HttpUrl base = HttpUrl.get("http://127.0.0.1:9/api/models/a/b/tree/main");
        assertEquals("http://127.0.0.1:9/api/models/a/b/tree/main?cursor=xyz",
                HubClient.nextLink("<http://127.0.0.1:9/api/models/a/b/tree/main?cursor=xyz>; rel=\"next\"", base).toString());
        assertEquals(null, HubClient.nextLink("<http://x/y>; rel=\"prev\"", base));
    }

    @Test
    void revisionsArePercentEncodedWhole_likePythonQuoteWithNoSafeCharacters() {
        assertEquals("refs%2Fpr%2F1", HubClient.encodeAll("refs/pr/1"));
        assertEquals("a%20b", HubClient.encodeAll("a b"));
    }
}
