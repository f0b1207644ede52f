package io.weightfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.weightfs.fetch.BlockFetcher.Priority;
import org.junit.jupiter.api.Test;

class FetchQueueTest {
    @Test
    void higherClassesComeFirst_andFirstComeFirstServedWithinAClass() {
        FetchQueue<String> q = new FetchQueue<>(BlockFetcher.Scheduling.PRIORITY);
        q.add("p1", Priority.PREFETCH);
        q.add("r1", Priority.READAHEAD);
        q.add("p2", Priority.PREFETCH);
        q.add("f1", Priority.FOREGROUND);
        q.add("f2", Priority.FOREGROUND);
        assertEquals("f1", q.poll(Priority.PREFETCH));
        assertEquals("f2", q.poll(Priority.PREFETCH));
        assertEquals("r1", q.poll(Priority.PREFETCH));
        assertEquals("p1", q.poll(Priority.PREFETCH));
        assertEquals("p2", q.poll(Priority.PREFETCH));
        assertNull(q.poll(Priority.PREFETCH));
    }

    @Test
    void aReservedWorker_neverTakesPrefetchWork() {
        FetchQueue<String> q = new FetchQueue<>(BlockFetcher.Scheduling.PRIORITY);
        q.add("p1", Priority.PREFETCH);
        assertNull(q.poll(Priority.READAHEAD));
        q.add("f1", Priority.FOREGROUND);
        assertEquals("f1", q.poll(Priority.READAHEAD));
        assertNull(q.poll(Priority.READAHEAD));
        assertEquals("p1", q.poll(Priority.PREFETCH), "the prefetch block is still there for the others");
    }

    @Test
    void fifoMode_ignoresClasses() {
        FetchQueue<String> q = new FetchQueue<>(BlockFetcher.Scheduling.FIFO);
        q.add("p1", Priority.PREFETCH);
        q.add("f1", Priority.FOREGROUND);
        assertEquals("p1", q.poll(Priority.READAHEAD));
        assertEquals("f1", q.poll(Priority.READAHEAD));
    }

    @Test
    void prefetch_isNotStarved_onceForegroundGoesQuiet() {
        FetchQueue<String> q = new FetchQueue<>(BlockFetcher.Scheduling.PRIORITY);
        for (int i = 0; i < 100; i++) {
            q.add("p" + i, Priority.PREFETCH);
        }
        for (int round = 0; round < 10; round++) {
            q.add("f" + round, Priority.FOREGROUND);
            assertEquals("f" + round, q.poll(Priority.PREFETCH));
        }
        for (int i = 0; i < 100; i++) {
            assertEquals("p" + i, q.poll(Priority.PREFETCH));
        }
    }
}
