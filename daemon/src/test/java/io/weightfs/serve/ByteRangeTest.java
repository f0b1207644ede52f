package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@code Range} headers against a file of known size (RFC 9110 §14). */
class ByteRangeTest {
    private static ByteRange partial(long first, long last) {
        return new ByteRange(ByteRange.Kind.PARTIAL, first, last);
    }

    @Test
    void singleRanges_inEveryForm_areClampedToTheFile() {
        assertEquals(partial(0, 0), ByteRange.parse("bytes=0-0", 100));
        assertEquals(partial(10, 19), ByteRange.parse("bytes=10-19", 100));
        assertEquals(partial(90, 99), ByteRange.parse("bytes=90-", 100));
        assertEquals(partial(90, 99), ByteRange.parse("bytes=90-5000", 100));
        assertEquals(partial(95, 99), ByteRange.parse("bytes=-5", 100));
        assertEquals(partial(0, 99), ByteRange.parse("bytes=-500", 100));
        assertEquals(partial(1, 2), ByteRange.parse(" Bytes=1-2 ", 100));
        assertEquals(partial(3_000_000_000L, 3_000_000_000L), ByteRange.parse("bytes=3000000000-3000000000", 4_000_000_000L));
    }

    @Test
    void startsAtOrPastTheEndAndEmptySuffixes_areUnsatisfiable() {
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=100-", 100));
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=100-200", 100));
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=-0", 100));
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=0-0", 0));
    }

    @Test
    void absentMalformedAndMultipleRanges_meanTheWholeFile() {
        for (String h : new String[] {null, "", "items=0-1", "bytes=", "bytes=5", "bytes=a-b", "bytes=9-1",
                "bytes=0-1,3-4", "bytes=99999999999999999999-"}) {
            assertEquals(ByteRange.WHOLE, ByteRange.parse(h, 100), String.valueOf(h));
        }
    }
}
