package io.weightfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class ReadaheadTest {
    private static final long MIB = 1 << 20;
    private static final long BLOCK = 8 * MIB;
    private static final long SIZE = 1L << 40;

    @Test
    void aFirstRead_fetchesNothingAhead_aSecondSequentialOneStartsAOneBlockWindow() {
        Readahead ra = new Readahead(BLOCK, 64 * MIB);
        assertNull(ra.onRead(0, MIB, SIZE));
        assertArrayEquals(new long[] {2 * MIB, 2 * MIB + BLOCK}, ra.onRead(MIB, MIB, SIZE));
    }

    @Test
    void theWindow_doublesAtEachNewBlock_upToTheCap() {
        Readahead ra = new Readahead(BLOCK, 64 * MIB);
        long[] windows = new long[12];
        for (int blk = 0; blk < 12; blk++) {
            for (long off = blk * BLOCK; off < (blk + 1) * BLOCK; off += MIB) {
                ra.onRead(off, MIB, SIZE);
            }
            windows[blk] = ra.windowAt((blk + 1) * BLOCK);
        }
        assertEquals(BLOCK * 2, windows[0]);
        assertEquals(BLOCK * 4, windows[1]);
        assertEquals(64 * MIB, windows[2]);
        assertEquals(64 * MIB, windows[11]);
    }

    @Test
    void outOfOrderKernelReads_andSmallForwardSeeks_stayInTheStream_aRealSeekStartsAnother() {
        Readahead ra = new Readahead(BLOCK, 64 * MIB);
        ra.onRead(0, MIB, SIZE);
        ra.onRead(2 * MIB, MIB, SIZE);     // arrived before the 1 MiB read
        ra.onRead(MIB, MIB, SIZE);         // late, but within the slack
        ra.onRead(3 * MIB + 100_000, MIB, SIZE); // a skipped tensor
        long[] r = ra.onRead(4 * MIB + 100_000, MIB, SIZE);
        assertEquals(5 * MIB + 100_000, r[0]);
        assertNull(ra.onRead(500 * MIB, MIB, SIZE), "a jump far away is a new stream");
        assertEquals(BLOCK, ra.onRead(501 * MIB, MIB, SIZE)[1] - 502 * MIB, "which starts with one block again");
    }

    @Test
    void parallelStreamsInOneFile_eachKeepTheirOwnWindow() {
        Readahead ra = new Readahead(BLOCK, 64 * MIB);
        long a = 0;
        long b = 1000 * MIB;
        for (int i = 0; i < 40; i++) {
            ra.onRead(a, MIB, SIZE);
            ra.onRead(b, MIB, SIZE);
            a += MIB;
            b += MIB;
        }
        assertEquals(ra.windowAt(a), ra.windowAt(b));
        assertEquals(64 * MIB, ra.windowAt(a));
    }

    @Test
    void theWindow_stopsAtTheEndOfTheFile() {
        Readahead ra = new Readahead(BLOCK, 64 * MIB);
        ra.onRead(0, MIB, 3 * MIB);
        assertArrayEquals(new long[] {2 * MIB, 3 * MIB}, ra.onRead(MIB, MIB, 3 * MIB));
        assertNull(ra.onRead(2 * MIB, MIB, 3 * MIB));
    }
}
