/**
 * Garbage collection of the shared cache tier ({@link io.weightfs.source.SharedTier}): what
 * {@code weightfs gc} removes, and what it must never remove. {@link io.weightfs.gc.SharedGc} is the
 * policy and the walk; {@link io.weightfs.gc.SharedGc.Report} is what it did. The tier has no index
 * and no lock, so every decision is made from file names and mtimes alone, and every removal
 * tolerates a file that another gc or another node removed or replaced meanwhile.
 *
 * <p>Depends on {@code source} (the tier's layout and lease TTL) and nothing else of weightfs.
 */
package io.weightfs.gc;
