package io.weightfs.serve;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * An error answer, shaped as the Hub shapes them (HUB-PROTOCOL.md §5): {@code X-Error-Code},
 * {@code X-Error-Message} and a JSON body {@code {"error": "..."}}. Clients decide on the code, and a
 * loopback {@code http://} server must always send one, since huggingface_hub's fallback rules only
 * apply to {@code https://} URLs.
 *
 * <p>Thrown by the routes and turned into the response at the top of the handler.
 */
final class HubError extends RuntimeException {
    static final String INVALID_CREDENTIALS = "Invalid credentials in Authorization header";

    private final int status;
    private final String code;
    private final ResponseHeaders extra = new ResponseHeaders();

    HubError(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    int status() {
        return status;
    }

    String code() {
        return code;
    }

    /** Adds a header to the error response (e.g. {@code X-Repo-Commit} on EntryNotFound). */
    HubError with(String name, String value) {
        extra.set(name, value);
        return this;
    }

    /** A missing or hidden repo: 401 to anonymous callers, 404 to authenticated ones, like the Hub. */
    static HubError repoNotFound(boolean authenticated) {
        return new HubError(authenticated ? 404 : 401, "RepoNotFound", "Repository not found");
    }

    static HubError revisionNotFound(String revision) {
        return new HubError(404, "RevisionNotFound", "Invalid rev id: " + revision);
    }

    static HubError entryNotFound(String path, String commit) {
        return new HubError(404, "EntryNotFound", "Entry not found: " + path).with("X-Repo-Commit", commit);
    }

    static HubError invalidCredentials() {
        return new HubError(401, "InvalidCredentials", INVALID_CREDENTIALS);
    }

    static HubError badRequest(String message) {
        return new HubError(400, "BadRequest", message);
    }

    static HubError notFound(String message) {
        return new HubError(404, "NotFound", message);
    }

    static HubError methodNotAllowed(String method, String allowed) {
        return new HubError(405, "MethodNotAllowed", method + " is not supported here; use " + allowed)
                .with("Allow", allowed);
    }

    void sendTo(Exchange exchange) throws IOException {
        JsonObject body = new JsonObject();
        body.addProperty("error", getMessage());
        ResponseHeaders headers = new ResponseHeaders()
                .set("Content-Type", "application/json; charset=utf-8")
                .set("X-Error-Code", code)
                .set("X-Error-Message", getMessage());
        headers.setAll(extra);
        exchange.respond(status, headers, (body + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
