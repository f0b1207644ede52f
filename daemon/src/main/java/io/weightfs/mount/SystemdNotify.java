package io.weightfs.mount;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * systemd's notify protocol ({@code sd_notify(3)}) for a {@code Type=notify} unit: datagrams such as
 * {@code READY=1} sent to the AF_UNIX socket named by {@code $NOTIFY_SOCKET}.
 *
 * <p>Java's NIO has unix stream sockets but no unix datagram sockets, so this calls libc's
 * {@code socket}, {@code sendto} and {@code close} through {@code java.lang.foreign}. The address is
 * a path, or an abstract name when it starts with {@code @} (the {@code @} becomes a NUL byte and
 * the address length excludes any terminator, as systemd's own client does).
 *
 * <p>Each {@link #send} opens its own socket: the daemon sends a handful of messages in its life,
 * and nothing is shared between threads. A failed send is logged and reported, never thrown into
 * the mount: systemd's absence must not break a mount.
 */
public final class SystemdNotify {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdNotify.class);

    /** Linux constants (x86-64 and aarch64 alike). */
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    /** A peer that went away must not kill the JVM with SIGPIPE. */
    private static final int MSG_NOSIGNAL = 0x4000;
    /** {@code struct sockaddr_un}: a 2-byte family and a 108-byte path. */
    private static final int SUN_PATH = 108;
    private static final int SOCKADDR_UN = 2 + SUN_PATH;

    private final String address;

    private SystemdNotify(String address) {
        this.address = address;
    }

    /** The notifier for {@code $NOTIFY_SOCKET}, if systemd (or anyone) set it. */
    public static Optional<SystemdNotify> fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static Optional<SystemdNotify> fromEnvironment(Map<String, String> env) {
        String socket = env.get("NOTIFY_SOCKET");
        if (socket == null || socket.isEmpty()) {
            return Optional.empty();
        }
        if (!socket.startsWith("/") && !socket.startsWith("@")) {
            // systemd also knows vsock: addresses; a daemon on a node has no use for them.
            LOG.warn("NOTIFY_SOCKET={} is neither a path nor an abstract name (@...); not notifying systemd", socket);
            return Optional.empty();
        }
        if (socket.getBytes(StandardCharsets.UTF_8).length >= SUN_PATH) {
            LOG.warn("NOTIFY_SOCKET={} is longer than a unix socket address can be; not notifying systemd", socket);
            return Optional.empty();
        }
        return Optional.of(new SystemdNotify(socket));
    }

    /** For tests: a notifier for one address. */
    static SystemdNotify at(String address) {
        return fromEnvironment(Map.of("NOTIFY_SOCKET", address)).orElseThrow(
                () -> new IllegalArgumentException("not a usable notify address: " + address));
    }

    public String address() {
        return address;
    }

    /** Tells systemd the service is up; {@code status} shows in {@code systemctl status}. */
    public boolean ready(String status) {
        return send("READY=1\nSTATUS=" + oneLine(status) + "\nMAINPID=" + ProcessHandle.current().pid());
    }

    /** Tells systemd the service is on its way down. */
    public boolean stopping(String status) {
        return send("STOPPING=1\nSTATUS=" + oneLine(status));
    }

    /** Updates the free-form status line only. */
    public boolean status(String status) {
        return send("STATUS=" + oneLine(status));
    }

    /** Sends one datagram of {@code KEY=VALUE} lines; false (logged) if it could not be sent. */
    public boolean send(String message) {
        Native n = Native.INSTANCE;
        if (n == null) {
            LOG.warn("cannot notify systemd: libc's socket calls are not available through java.lang.foreign");
            return false;
        }
        try {
            n.sendDatagram(address, message.getBytes(StandardCharsets.UTF_8));
            return true;
        } catch (IOException e) {
            LOG.warn("cannot notify systemd at {}: {}", address, e.getMessage());
            return false;
        }
    }

    /** A status is one line of the datagram: newlines in it would start new (bogus) keys. */
    private static String oneLine(String s) {
        return s.replace('\n', ' ').replace('\r', ' ');
    }

    /** The encoded {@code sockaddr_un} of an address, and its length as {@code sendto} wants it. */
    static byte[] sockaddr(String address) {
        byte[] path = address.getBytes(StandardCharsets.UTF_8);
        boolean abstractName = path.length > 0 && path[0] == '@';
        if (abstractName) {
            path[0] = 0;
        }
        // A path's length counts its terminating NUL; an abstract name's counts exactly its bytes.
        byte[] addr = new byte[2 + path.length + (abstractName ? 0 : 1)];
        addr[0] = (byte) AF_UNIX; // sa_family_t, little-endian on every platform this runs on
        addr[1] = 0;
        System.arraycopy(path, 0, addr, 2, path.length);
        return addr;
    }

    /** The libc calls, bound once. */
    private record Native(MethodHandle socket, MethodHandle sendto, MethodHandle close, StructLayout callState, VarHandle errno) {
        static final Native INSTANCE = load();

        @SuppressWarnings("restricted") // downcalls to libc; the launcher and the tests enable native access
        private static Native load() {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                Linker.Option errnoOption = Linker.Option.captureCallState("errno");
                StructLayout state = Linker.Option.captureStateLayout();
                MethodHandle socket = linker.downcallHandle(libc.find("socket").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
                        errnoOption);
                MethodHandle sendto = linker.downcallHandle(libc.find("sendto").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), errnoOption);
                MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                VarHandle errno = state.varHandle(StructLayout.PathElement.groupElement("errno"));
                return new Native(socket, sendto, close, state, errno);
            } catch (RuntimeException | LinkageError e) {
                LOG.debug("no libc socket calls through java.lang.foreign: {}", e.toString());
                return null;
            }
        }

        void sendDatagram(String address, byte[] payload) throws IOException {
            byte[] addr = sockaddr(address);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = arena.allocate(callState);
                int fd = (int) socket.invokeExact(state, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                    throw new IOException("socket(AF_UNIX, SOCK_DGRAM) failed: errno " + (int) errno.get(state, 0L));
                }
                try {
                    MemorySegment sa = arena.allocate(SOCKADDR_UN);
                    MemorySegment.copy(addr, 0, sa, ValueLayout.JAVA_BYTE, 0, addr.length);
                    MemorySegment buf = arena.allocate(Math.max(1, payload.length));
                    MemorySegment.copy(payload, 0, buf, ValueLayout.JAVA_BYTE, 0, payload.length);
                    long sent = (long) sendto.invokeExact(state, fd, buf, (long) payload.length, MSG_NOSIGNAL, sa, addr.length);
                    if (sent < 0) {
                        throw new IOException("sendto failed: errno " + (int) errno.get(state, 0L) + " (" + describe((int) errno.get(state, 0L)) + ")");
                    }
                    if (sent != payload.length) {
                        throw new IOException("sendto sent " + sent + " of " + payload.length + " bytes");
                    }
                } finally {
                    int ignored = (int) close.invokeExact(fd);
                }
            } catch (IOException e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException("notify call failed: " + t, t);
            }
        }

        private static String describe(int errno) {
            return switch (errno) {
                case 2 -> "no such socket";
                case 13 -> "permission denied";
                case 111 -> "nobody listens there";
                default -> "see errno(3)";
            };
        }
    }
}
