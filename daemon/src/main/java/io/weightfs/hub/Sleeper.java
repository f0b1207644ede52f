package io.weightfs.hub;

import java.time.Duration;

/** Waits between retries; injected so tests never really sleep. */
@FunctionalInterface
public interface Sleeper {
    Sleeper REAL = d -> Thread.sleep(d.toMillis());

    void sleep(Duration d) throws InterruptedException;
}
