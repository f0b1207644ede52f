package io.weightfs.store;

import java.io.IOException;

/**
 * The store's filesystem is below its free-space floor: no new block is cached. Reads go straight
 * to the source instead, and the background fill waits for space.
 */
public final class NoSpaceException extends IOException {
    public NoSpaceException(String message) {
        super(message);
    }
}
