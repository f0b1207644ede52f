package io.weightfs.serve;

import java.util.function.LongConsumer;

/**
 * How one file body is sent, beyond the bytes themselves.
 *
 * @param cutAfter close the connection after this many body bytes; -1 sends the whole body
 * @param corrupt flip the first byte of the body (XOR 0xFF)
 * @param throttle the shared rate limit, or null
 * @param sent told every run of body bytes that went out, for the stats
 */
record BodyShaping(long cutAfter, boolean corrupt, TokenBucket throttle, LongConsumer sent) {
    static final BodyShaping PLAIN = new BodyShaping(-1, false, null, n -> {});
}
