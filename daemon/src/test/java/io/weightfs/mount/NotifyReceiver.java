package io.weightfs.mount;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * What systemd does with {@code $NOTIFY_SOCKET}, for tests: binds an AF_UNIX datagram socket (at a
 * path, or an abstract name starting with {@code @}) and receives what is sent to it, each receive
 * bounded by a timeout. Bound through {@code java.lang.foreign}, as the sender is, so a test needs
 * no socat or python. Also used by the native tests (the daemon's test-jar).
 */
public final class NotifyReceiver implements AutoCloseable {
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVTIMEO = 20;
    private static final int MAX_DATAGRAM = 64 * 1024;

    private static final MethodHandle SOCKET;
    private static final MethodHandle BIND;
    private static final MethodHandle SETSOCKOPT;
    private static final MethodHandle RECV;
    private static final MethodHandle CLOSE;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        SOCKET = linker.downcallHandle(libc.find("socket").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        BIND = linker.downcallHandle(libc.find("bind").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        SETSOCKOPT = linker.downcallHandle(libc.find("setsockopt").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        RECV = linker.downcallHandle(libc.find("recv").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT));
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    }

    private final String address;
    private final int fd;

    private NotifyReceiver(String address, int fd) {
        this.address = address;
        this.fd = fd;
    }

    /** Binds {@code address}: a filesystem path (which must not exist yet) or {@code @name}. */
    public static NotifyReceiver bind(String address) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) SOCKET.invokeExact(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw new IOException("socket failed");
            }
            byte[] sa = SystemdNotify.sockaddr(address);
            MemorySegment seg = arena.allocate(110);
            MemorySegment.copy(sa, 0, seg, ValueLayout.JAVA_BYTE, 0, sa.length);
            if ((int) BIND.invokeExact(fd, seg, sa.length) != 0) {
                int ignored = (int) CLOSE.invokeExact(fd);
                throw new IOException("bind " + address + " failed");
            }
            return new NotifyReceiver(address, fd);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** A path-bound receiver in {@code dir}. */
    public static NotifyReceiver inDirectory(Path dir) throws IOException {
        return bind(dir.resolve("notify.sock").toString());
    }

    public String address() {
        return address;
    }

    /** The next datagram, or empty if none came within {@code timeout}. */
    public Optional<String> receive(Duration timeout) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tv = arena.allocate(16);
            tv.set(ValueLayout.JAVA_LONG, 0, timeout.toSeconds());
            tv.set(ValueLayout.JAVA_LONG, 8, Math.max(1, timeout.toNanosPart() / 1000));
            if ((int) SETSOCKOPT.invokeExact(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) != 0) {
                throw new IOException("setsockopt SO_RCVTIMEO failed");
            }
            MemorySegment buf = arena.allocate(MAX_DATAGRAM);
            long n = (long) RECV.invokeExact(fd, buf, (long) MAX_DATAGRAM, 0);
            if (n < 0) {
                return Optional.empty(); // EAGAIN: the timeout passed
            }
            return Optional.of(new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** Receives until a datagram containing {@code line} as one of its lines arrives; empty at the deadline. */
    public Optional<String> awaitLine(String line, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return Optional.empty();
            }
            Optional<String> m = receive(Duration.ofNanos(left));
            if (m.isPresent() && m.get().lines().anyMatch(line::equals)) {
                return m;
            }
        }
    }

    @Override
    public void close() throws IOException {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IOException(t);
        }
        if (address.startsWith("/")) {
            Files.deleteIfExists(Path.of(address));
        }
    }
}
