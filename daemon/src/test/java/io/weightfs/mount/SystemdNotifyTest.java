package io.weightfs.mount;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemdNotifyTest {
    private static final Duration WAIT = Duration.ofSeconds(5);

    @Test
    void ready_toAPathSocket_sendsReadyStatusAndMainPidInOneDatagram(@TempDir Path dir) throws Exception {
        try (NotifyReceiver systemd = NotifyReceiver.inDirectory(dir)) {
            SystemdNotify notify = SystemdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", systemd.address())).orElseThrow();
            assertTrue(notify.ready("mounted /mnt/x: 3 files"));
            List<String> lines = systemd.receive(WAIT).orElseThrow().lines().toList();
            assertEquals(List.of("READY=1", "STATUS=mounted /mnt/x: 3 files", "MAINPID=" + ProcessHandle.current().pid()), lines);
        }
    }

    @Test
    void stoppingAndStatus_toAnAbstractSocket_arriveInOrder() throws Exception {
        String name = "@weightfs-notify-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (NotifyReceiver systemd = NotifyReceiver.bind(name)) {
            SystemdNotify notify = SystemdNotify.at(name);
            assertTrue(notify.status("filling: 10 of 20 files"));
            assertTrue(notify.stopping("unmounting"));
            assertEquals("STATUS=filling: 10 of 20 files", systemd.receive(WAIT).orElseThrow());
            assertEquals("STOPPING=1\nSTATUS=unmounting", systemd.receive(WAIT).orElseThrow());
        }
    }

    @Test
    void status_withNewlines_staysOneLineSoItCannotForgeKeys(@TempDir Path dir) throws Exception {
        try (NotifyReceiver systemd = NotifyReceiver.inDirectory(dir)) {
            assertTrue(SystemdNotify.at(systemd.address()).status("bad\nREADY=1"));
            assertEquals("STATUS=bad READY=1", systemd.receive(WAIT).orElseThrow());
        }
    }

    @Test
    void send_withNobodyListening_returnsFalseAndDoesNotThrow(@TempDir Path dir) {
        assertFalse(SystemdNotify.at(dir.resolve("nobody.sock").toString()).ready("x"));
    }

    @Test
    void fromEnvironment_unsetEmptyOrUnusable_isEmpty() {
        assertTrue(SystemdNotify.fromEnvironment(Map.of()).isEmpty());
        assertTrue(SystemdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", "")).isEmpty());
        assertTrue(SystemdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", "vsock:2:1234")).isEmpty());
        assertTrue(SystemdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", "/" + "x".repeat(200))).isEmpty());
    }

    @Test
    void sockaddr_pathCountsItsNul_abstractNameStartsWithNulAndCountsNoTerminator() {
        assertArrayEquals(new byte[] {1, 0, '/', 's', 0}, SystemdNotify.sockaddr("/s"));
        assertArrayEquals(new byte[] {1, 0, 0, 'a', 'b'}, SystemdNotify.sockaddr("@ab"));
    }
}
