package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Private and gated repos, and tokens (HUB-PROTOCOL.md §5). */
class AccessControlTest {
    private static final String ALICE = "hf_alice";
    private static final String BOB = "hf_bob";

    @TempDir
    Path root;

    private ServeFixture start(ServeOptions options) throws Exception {
        ServeFixture.write(root, "acme/secret", "config.json", "{}");
        ServeFixture.write(root, "acme/secret", "model.safetensors", "weights");
        ServeFixture.write(root, "acme/secret", RepoAccess.SIDECAR, "{\"private\": true, \"tokens\": [\"" + ALICE + "\"]}");
        ServeFixture.write(root, "acme/gated", "config.json", "{}");
        ServeFixture.write(root, "acme/gated", RepoAccess.SIDECAR, "{\"gated\": \"manual\", \"tokens\": [\"" + ALICE + "\"]}");
        ServeFixture.write(root, "acme/open", "config.json", "{}");
        ServeFixture.write(root, "acme/open", RepoAccess.SIDECAR, "{\"tokens\": [\"" + BOB + "\"]}");
        return ServeFixture.start(options);
    }

    private static String[] bearer(String token) {
        return new String[] {"Authorization", "Bearer " + token};
    }

    @Test
    void privateRepo_looksMissingWithoutAGrantedToken_andIsServedWithOne() throws Exception {
        try (ServeFixture hub = start(ServeOptions.of(root))) {
            for (String path : List.of("/api/models/acme/secret", "/api/models/acme/secret/tree/main",
                    "/acme/secret/resolve/main/config.json")) {
                HttpResponse<byte[]> anonymous = hub.get(path);
                assertEquals(401, anonymous.statusCode(), path);
                assertEquals("RepoNotFound", ServeFixture.header(anonymous, "X-Error-Code"), path);
                HttpResponse<byte[]> otherToken = hub.get(path, bearer(BOB));
                assertEquals(404, otherToken.statusCode(), path);
                assertEquals("RepoNotFound", ServeFixture.header(otherToken, "X-Error-Code"), path);
                assertEquals(200, hub.get(path, bearer(ALICE)).statusCode(), path);
            }
            HttpResponse<byte[]> info = hub.get("/api/models/acme/secret", bearer(ALICE));
            assertTrue(ServeFixture.json(info).getAsJsonObject().get("private").getAsBoolean());
            // The sidecar itself is never served.
            HttpResponse<byte[]> sidecar = hub.get("/acme/secret/resolve/main/" + RepoAccess.SIDECAR, bearer(ALICE));
            assertEquals("EntryNotFound", ServeFixture.header(sidecar, "X-Error-Code"));
        }
    }

    @Test
    void privateBlobOnTheCdn_needsTheSignedLinkFromTheRedirect() throws Exception {
        try (ServeFixture hub = start(ServeOptions.of(root))) {
            HttpResponse<byte[]> redirect = hub.get("/acme/secret/resolve/main/model.safetensors", bearer(ALICE));
            assertEquals(302, redirect.statusCode());
            URI signed = URI.create(ServeFixture.header(redirect, "Location"));
            HttpResponse<byte[]> viaLink = hub.get(signed);
            assertEquals(200, viaLink.statusCode(), "no Authorization on the CDN: the link is the capability");
            assertEquals("weights", new String(viaLink.body()));
            URI bare = URI.create(hub.server.cdnEndpoint() + signed.getPath());
            assertEquals(403, hub.get(bare).statusCode());
            URI forged = URI.create(signed.toString().replaceAll("signature=[0-9a-f]+", "signature=00000000"));
            assertEquals(403, hub.get(forged).statusCode());
        }
    }

    @Test
    void gatedRepo_showsItsMetadata_butRefusesFilesWith401AnonymousAnd403Ungranted() throws Exception {
        try (ServeFixture hub = start(ServeOptions.of(root))) {
            HttpResponse<byte[]> info = hub.get("/api/models/acme/gated");
            assertEquals(200, info.statusCode());
            assertEquals("manual", ServeFixture.json(info).getAsJsonObject().get("gated").getAsString());

            for (String path : List.of("/acme/gated/resolve/main/config.json", "/api/models/acme/gated/tree/main")) {
                HttpResponse<byte[]> anonymous = hub.get(path);
                assertEquals(401, anonymous.statusCode(), path);
                assertEquals("GatedRepo", ServeFixture.header(anonymous, "X-Error-Code"));
                assertEquals("Access to model acme/gated is restricted. You must have access to it and be authenticated"
                        + " to access it. Please log in.", ServeFixture.header(anonymous, "X-Error-Message"));

                HttpResponse<byte[]> ungranted = hub.get(path, bearer(BOB));
                assertEquals(403, ungranted.statusCode(), path);
                assertEquals("GatedRepo", ServeFixture.header(ungranted, "X-Error-Code"));
                assertEquals("Access to model acme/gated is restricted and you are not in the authorized list. Visit http://127.0.0.1:"
                        + hub.server.port() + "/acme/gated to ask for access.", ServeFixture.header(ungranted, "X-Error-Message"));

                assertEquals(200, hub.get(path, bearer(ALICE)).statusCode(), path);
            }
        }
    }

    @Test
    void unknownToken_is401InvalidCredentials_evenOnPublicRepos() throws Exception {
        try (ServeFixture hub = start(ServeOptions.of(root))) {
            for (String path : List.of("/api/models/acme/open", "/acme/open/resolve/main/config.json", "/api/models/acme/nope")) {
                HttpResponse<byte[]> r = hub.get(path, bearer("hf_stranger"));
                assertEquals(401, r.statusCode(), path);
                assertEquals("Invalid credentials in Authorization header", ServeFixture.header(r, "X-Error-Message"));
                assertEquals("InvalidCredentials", ServeFixture.header(r, "X-Error-Code"));
            }
            assertEquals(200, hub.get("/acme/open/resolve/main/config.json", bearer(ALICE)).statusCode(),
                    "a token known anywhere is valid everywhere");
            assertEquals(200, hub.get("/acme/open/resolve/main/config.json").statusCode());
        }
    }

    @Test
    void serverWideTokens_areValidEverywhereAndGrantEveryRepo() throws Exception {
        try (ServeFixture hub = start(ServeOptions.of(root).withTokens(List.of("hf_admin")))) {
            assertEquals(200, hub.get("/acme/secret/resolve/main/config.json", bearer("hf_admin")).statusCode());
            assertEquals(200, hub.get("/acme/gated/resolve/main/config.json", bearer("hf_admin")).statusCode());
            assertEquals(200, hub.get("/acme/open/resolve/main/config.json", bearer("hf_admin")).statusCode());
        }
    }

    @Test
    void withNoTokensConfiguredAnywhere_anyTokenIsAcceptedOnPublicRepos() throws Exception {
        ServeFixture.write(root, "acme/plain", "config.json", "{}");
        try (ServeFixture hub = ServeFixture.start(root)) {
            HttpResponse<byte[]> r = hub.get("/acme/plain/resolve/main/config.json", bearer("hf_whatever"));
            assertEquals(200, r.statusCode());
            assertNull(ServeFixture.header(r, "X-Error-Code"));
        }
    }
}
