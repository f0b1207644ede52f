/**
 * The Hugging Face Hub's plain-HTTP protocol (HUB-PROTOCOL.md), as a client: revision to commit,
 * recursive tree listing with {@code Link} pagination, download-URL resolution through
 * {@code /resolve}, ranged GETs that resume, retries with backoff, and error mapping into messages a
 * user can act on.
 *
 * <p>Only this package and {@code source} import OkHttp. One {@link io.weightfs.hub.HubClient} per
 * process; the token travels with each call (entries may use different secrets) and is attached
 * only to requests for the Hub's own host and port, never to a CDN a download redirects to.
 */
package io.weightfs.hub;
