/**
 * Where bytes come from. A {@link io.weightfs.source.Source} reads a byte range of one repo file
 * into a sink; sources are tried fastest first (the shared cache tier, then the Hub). A source
 * never decides whether bytes are right: callers verify against the manifest's hash.
 */
package io.weightfs.source;
