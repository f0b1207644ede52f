package io.weightfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class ForegroundGateTest {
    @Test
    void backgroundWork_passesStraightThrough_whenNoReadWaits() {
        ForegroundGate gate = new ForegroundGate();
        long t0 = System.nanoTime();
        gate.pauseWhileWaiting(() -> false);
        assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(ForegroundGate.MAX_PAUSE_MILLIS / 2));
    }

    @Test
    void backgroundWork_pausesWhileAReadWaits_andGoesOnWhenItIsDone() throws Exception {
        ForegroundGate gate = new ForegroundGate();
        ForegroundGate.Waiting w = gate.enter();
        CompletableFuture<Void> paused = CompletableFuture.runAsync(() -> gate.pauseWhileWaiting(() -> false));
        Thread.sleep(50); // give it the chance to (wrongly) pass
        assertFalse(paused.isDone());
        w.close();
        paused.get(5, TimeUnit.SECONDS);
        assertEquals(0, gate.waiting());
    }

    @Test
    void aPromotedDownload_isNotPaused() throws Exception {
        ForegroundGate gate = new ForegroundGate();
        try (ForegroundGate.Waiting w = gate.enter()) {
            AtomicBoolean promoted = new AtomicBoolean();
            CompletableFuture<Void> paused = CompletableFuture.runAsync(() -> gate.pauseWhileWaiting(promoted::get));
            promoted.set(true);
            paused.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aPause_neverLastsLongerThanTheBound() throws Exception {
        ForegroundGate gate = new ForegroundGate();
        try (ForegroundGate.Waiting w = gate.enter()) {
            long t0 = System.nanoTime();
            gate.pauseWhileWaiting(() -> false);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= ForegroundGate.MAX_PAUSE_MILLIS - 50 && ms < ForegroundGate.MAX_PAUSE_MILLIS + 2000, ms + " ms");
        }
    }
}
