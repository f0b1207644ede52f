/**
 * {@code weightfs serve}: a directory of repos served over the Hugging Face Hub's own HTTP protocol
 * (HUB-PROTOCOL.md), so that tests, the demo, air-gapped clusters and any Hub client with
 * {@code HF_ENDPOINT} can read from it.
 *
 * <p>{@link io.weightfs.serve.HubServer} is the whole public surface, configured by an immutable
 * {@link io.weightfs.serve.ServeOptions} (with {@link io.weightfs.serve.Fault}s for tests) and
 * observed through {@link io.weightfs.serve.ServeStats}. Inside: a small blocking HTTP/1.1 server
 * ({@code HttpListener}, {@code HttpConnection}, {@code Exchange}) with one virtual thread per
 * connection and {@code sendfile} bodies, bounded by {@link io.weightfs.serve.ServeLimits} (a
 * {@code ConnectionGuard} admits up to the connection cap and closes connections that overstay);
 * a {@code RepoCatalog} scanned and hashed once at start
 * ({@code SparseFiles} skips the holes of sparse test files);
 * {@code HubRoutes} and {@code CdnRoutes} that map requests to the catalog; {@code FileResponder}
 * for ranges, conditional requests and injected faults.
 *
 * <p>Nothing here is used by the mount path: the package depends only on {@code manifest} (for
 * hashing) and {@code config} (to redact the tokens it grants), and only the command line and tests that need a Hub depend on it.
 */
package io.weightfs.serve;
