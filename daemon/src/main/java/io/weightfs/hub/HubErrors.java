package io.weightfs.hub;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.config.Redactor;
import java.util.Locale;

/**
 * The one table from a Hub error response to a {@link HubException} whose message says what to do
 * (HUB-PROTOCOL.md §5, checked in the same order as huggingface_hub's {@code hf_raise_for_status}).
 */
final class HubErrors {
    private static final String INVALID_CREDENTIALS = "Invalid credentials in Authorization header";
    /** Error bodies are short JSON; anything longer is not worth quoting in a message. */
    private static final int MAX_BODY_QUOTE = 300;

    private HubErrors() {}

    /**
     * @param status the HTTP status (not 2xx/3xx)
     * @param errorCode {@code X-Error-Code}, or null
     * @param errorMessage {@code X-Error-Message}, or null
     * @param body the response body (may be empty), for the server's own words
     * @param what what was asked, e.g. {@code "file 'config.json' of org/name at 0123abc"}
     * @param repoId the repo, for advice
     * @param tokenSent whether an Authorization header went with the request
     * @param endpoint the Hub's base URL, for "ask for access at" advice
     */
    static HubException fromResponse(
            int status,
            String errorCode,
            String errorMessage,
            String body,
            String what,
            String repoId,
            boolean tokenSent,
            String endpoint) {
        String serverSays = serverMessage(errorMessage, body);
        String suffix = serverSays.isEmpty() ? "" : " (the Hub said: " + serverSays + ")";
        String code = errorCode == null ? "" : errorCode;

        if (code.equals("RevisionNotFound")) {
            return new HubException(HubException.Kind.REVISION_NOT_FOUND, status,
                    "revision not found while fetching " + what + ": check the revision in the config"
                            + " (a branch, tag, refs/pr/N or a 40-hex commit of " + repoId + ")" + suffix);
        }
        if (code.equals("EntryNotFound")) {
            return new HubException(HubException.Kind.ENTRY_NOT_FOUND, status,
                    "not found in the repo: " + what + suffix);
        }
        if (code.equals("GatedRepo")) {
            String advice = tokenSent
                    ? "the token's account has not been granted access: ask for access at " + endpoint + "/" + repoId
                            + " and wait for approval, or use a token of an account that has it"
                    : "no token was sent: ask for access at " + endpoint + "/" + repoId
                            + ", then give a token with runtime_secret_name/auth_secret_name or HF_TOKEN";
            return new HubException(HubException.Kind.GATED, status,
                    repoId + " is a gated repo; " + advice + suffix);
        }
        if (errorMessage != null && errorMessage.equals("Access to this resource is disabled.")) {
            return new HubException(HubException.Kind.DISABLED, status,
                    repoId + " has been disabled on the Hub; nothing can be downloaded from it" + suffix);
        }
        boolean invalidCredentials = INVALID_CREDENTIALS.equals(errorMessage) || code.equals("InvalidCredentials");
        if (status == 401 && invalidCredentials) {
            return new HubException(HubException.Kind.INVALID_CREDENTIALS, status,
                    "the Hub rejected the token as invalid while fetching " + what
                            + ": check the secret file or HF_TOKEN (an expired or mistyped token?)" + suffix);
        }
        if (code.equals("RepoNotFound") || status == 401) {
            String advice = tokenSent
                    ? "the token sent has no access to it, or the repo id is misspelled"
                    : "no token was sent: if the repo is private, give a token with runtime_secret_name/auth_secret_name or HF_TOKEN";
            return new HubException(HubException.Kind.REPO_NOT_FOUND, status,
                    "repository " + repoId + " not found or private (" + advice + ") while fetching " + what + suffix);
        }
        if (status == 400) {
            return new HubException(HubException.Kind.BAD_REQUEST, status,
                    "the Hub called the request for " + what + " bad (HTTP 400)" + suffix);
        }
        if (status == 403) {
            return new HubException(HubException.Kind.FORBIDDEN, status,
                    "the Hub refused " + what + " (HTTP 403): check that the token has read permission for "
                            + repoId + suffix);
        }
        if (status == 408 || status == 429 || status >= 500) {
            return new HubException(HubException.Kind.TRANSIENT, status,
                    "the Hub answered HTTP " + status + " for " + what + suffix);
        }
        return new HubException(HubException.Kind.HTTP, status,
                "the Hub answered HTTP " + status + " for " + what + suffix);
    }

    /** X-Error-Message and the body's {@code error} / {@code error_description} / {@code errors[].message}. */
    static String serverMessage(String errorMessage, String body) {
        StringBuilder sb = new StringBuilder();
        if (errorMessage != null && !errorMessage.isBlank()) {
            sb.append(errorMessage.strip());
        }
        String fromBody = bodyMessage(body);
        if (!fromBody.isEmpty() && !fromBody.equals(sb.toString())) {
            if (!sb.isEmpty()) {
                sb.append("; ");
            }
            sb.append(fromBody);
        }
        // Server text may echo what it was sent (a token in Authorization): redact before quoting,
        // and before truncating, so no part of a token survives the cut.
        String s = Redactor.redact(sb.toString());
        return s.length() > MAX_BODY_QUOTE ? s.substring(0, MAX_BODY_QUOTE) + "..." : s;
    }

    private static String bodyMessage(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        String trimmed = body.strip();
        if (!trimmed.startsWith("{")) {
            return trimmed.toLowerCase(Locale.ROOT).startsWith("<") ? "" : trimmed;
        }
        try {
            JsonObject o = JsonParser.parseString(trimmed).getAsJsonObject();
            StringBuilder sb = new StringBuilder();
            JsonElement error = o.get("error");
            if (error != null && error.isJsonPrimitive()) {
                sb.append(error.getAsString());
            } else if (error != null && error.isJsonArray()) {
                for (JsonElement e : error.getAsJsonArray()) {
                    append(sb, e.isJsonPrimitive() ? e.getAsString() : e.toString());
                }
            }
            JsonElement desc = o.get("error_description");
            if (desc != null && desc.isJsonPrimitive()) {
                append(sb, desc.getAsString());
            }
            JsonElement errors = o.get("errors");
            if (errors instanceof JsonArray arr) {
                for (JsonElement e : arr) {
                    if (e.isJsonObject() && e.getAsJsonObject().has("message")) {
                        append(sb, e.getAsJsonObject().get("message").getAsString());
                    }
                }
            }
            return sb.toString();
        } catch (RuntimeException notJson) {
            return "";
        }
    }

    private static void append(StringBuilder sb, String s) {
        if (!sb.isEmpty()) {
            sb.append("; ");
        }
        sb.append(s);
    }
}
