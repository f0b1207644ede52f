/**
 * The filesystem: the immutable tree of the pinned manifests ({@link io.weightfs.fs.FsTree}), open
 * handles, and each handle's sequential-stream detection ({@link io.weightfs.fs.Readahead}). Bytes
 * come from {@link io.weightfs.fetch.Reader}, the fetch layer's single read entry point; the
 * control files' content from {@link io.weightfs.fs.ControlFiles}. Nothing here knows how bytes are
 * fetched, and nothing here knows FUSE: {@link io.weightfs.fs.FsOps} is what a transport calls.
 */
package io.weightfs.fs;
