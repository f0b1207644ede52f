package io.weightfs.hub;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * A blocking byte pipe to one server: a plain {@link SocketChannel}, or TLS over one through an
 * {@link SSLEngine}. Reads go straight into the caller's (direct) buffer, as large as the caller
 * makes it, so a 1 MiB buffer costs one {@code read()} per socket-buffer's worth of bytes instead of
 * one per 8 KiB (what Okio's segments cost OkHttp: PLATFORM.md, 131,400 calls per GiB).
 *
 * <p>{@link #close()} may be called from another thread to abort a blocked read (the watchdog does).
 */
abstract class Transport implements AutoCloseable {
    final SocketChannel channel;

    private Transport(SocketChannel channel) {
        this.channel = channel;
    }

    /** Connects, within {@code timeout}; TLS (with hostname verification) when {@code tls} is non-null. */
    static Transport connect(String host, int port, Duration timeout, SSLContext tls) throws IOException {
        SocketChannel ch = SocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.socket().connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis())));
            ch.configureBlocking(true);
            if (tls == null) {
                return new Plain(ch);
            }
            Tls t = new Tls(ch, tls, host, port);
            t.handshake();
            return t;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Reads what arrives, at most {@code dst.remaining()}; -1 at the end of the stream. Blocks. */
    abstract int read(ByteBuffer dst) throws IOException;

    abstract void writeFully(ByteBuffer src) throws IOException;

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing an aborted socket
        }
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    private static final class Plain extends Transport {
        Plain(SocketChannel ch) {
            super(ch);
        }

        @Override
        int read(ByteBuffer dst) throws IOException {
            return channel.read(dst);
        }

        @Override
        void writeFully(ByteBuffer src) throws IOException {
            while (src.hasRemaining()) {
                channel.write(src);
            }
        }
    }

    /**
     * TLS over the channel. Ciphertext is read in large chunks ({@link #NET_BUFFER}) and decrypted
     * record by record straight into the caller's buffer when it has room for a whole record, into a
     * small buffer of our own otherwise.
     */
    private static final class Tls extends Transport {
        /** Many TLS records per socket read: the record (16 KiB) is TLS's unit, not ours. */
        private static final int NET_BUFFER = 512 * 1024;
        private final SSLEngine engine;
        private final ByteBuffer netIn;
        private ByteBuffer netOut;
        private final ByteBuffer appIn;
        private boolean inboundDone;

        Tls(SocketChannel ch, SSLContext ctx, String host, int port) {
            super(ch);
            this.engine = ctx.createSSLEngine(host, port);
            engine.setUseClientMode(true);
            SSLParameters p = engine.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            if (!host.isEmpty() && !Character.isDigit(host.charAt(host.length() - 1)) && !host.contains(":")) {
                p.setServerNames(List.of(new SNIHostName(host)));
            }
            p.setApplicationProtocols(new String[] {"http/1.1"});
            engine.setSSLParameters(p);
            int packet = engine.getSession().getPacketBufferSize();
            this.netIn = ByteBuffer.allocateDirect(Math.max(NET_BUFFER, packet)).flip();
            this.netOut = ByteBuffer.allocateDirect(packet);
            this.appIn = ByteBuffer.allocateDirect(engine.getSession().getApplicationBufferSize()).flip();
        }

        void handshake() throws IOException {
            engine.beginHandshake();
            ByteBuffer empty = ByteBuffer.allocate(0);
            ByteBuffer scratch = ByteBuffer.allocateDirect(engine.getSession().getApplicationBufferSize());
            while (true) {
                SSLEngineResult.HandshakeStatus hs = engine.getHandshakeStatus();
                switch (hs) {
                    case NEED_WRAP -> wrapAndSend(empty);
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                        scratch.clear();
                        SSLEngineResult r = unwrapInto(scratch, true);
                        if (r == null) {
                            throw new EOFException("the server closed the connection during the TLS handshake");
                        }
                        if (scratch.position() > 0) {
                            scratch.flip();
                            appIn.compact().put(scratch).flip();
                        }
                    }
                    case NEED_TASK -> runTasks();
                    case FINISHED, NOT_HANDSHAKING -> {
                        return;
                    }
                }
            }
        }

        private void runTasks() {
            Runnable task;
            while ((task = engine.getDelegatedTask()) != null) {
                task.run();
            }
        }

        private void wrapAndSend(ByteBuffer src) throws IOException {
            do {
                netOut.clear();
                SSLEngineResult r = engine.wrap(src, netOut);
                if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                    netOut = ByteBuffer.allocateDirect(netOut.capacity() * 2);
                    continue;
                }
                if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    throw new SSLException("the TLS connection was closed while sending");
                }
                netOut.flip();
                while (netOut.hasRemaining()) {
                    channel.write(netOut);
                }
                if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                    runTasks();
                }
            } while (src.hasRemaining());
        }

        /**
         * Decrypts one record into {@code dst}, reading ciphertext when none is buffered (only if
         * {@code mayBlock}). Returns null at the end of the stream, or the engine's result.
         */
        private SSLEngineResult unwrapInto(ByteBuffer dst, boolean mayBlock) throws IOException {
            while (true) {
                SSLEngineResult r = engine.unwrap(netIn, dst);
                switch (r.getStatus()) {
                    case OK -> {
                        if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                            runTasks();
                        }
                        if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                            wrapAndSend(ByteBuffer.allocate(0)); // a post-handshake message (key update)
                        }
                        return r;
                    }
                    case CLOSED -> {
                        inboundDone = true;
                        return null;
                    }
                    case BUFFER_OVERFLOW -> throw new IllegalStateException("TLS record larger than the application buffer");
                    case BUFFER_UNDERFLOW -> {
                        if (!mayBlock) {
                            return r;
                        }
                        netIn.compact();
                        int n;
                        try {
                            n = channel.read(netIn);
                        } finally {
                            netIn.flip();
                        }
                        if (n < 0) {
                            inboundDone = true;
                            return null;
                        }
                    }
                }
            }
        }

        @Override
        int read(ByteBuffer dst) throws IOException {
            if (appIn.hasRemaining()) {
                return copy(appIn, dst);
            }
            if (inboundDone) {
                return -1;
            }
            int appSize = engine.getSession().getApplicationBufferSize();
            int start = dst.position();
            boolean mayBlock = true;
            while (dst.remaining() > 0) {
                SSLEngineResult r;
                if (dst.remaining() >= appSize) {
                    r = unwrapInto(dst, mayBlock);
                } else {
                    appIn.clear();
                    try {
                        r = unwrapInto(appIn, mayBlock);
                    } finally {
                        appIn.flip();
                    }
                    copy(appIn, dst);
                }
                if (r == null) {
                    break;
                }
                if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
                    break; // nothing more buffered: return what we have rather than block
                }
                if (dst.position() > start) {
                    mayBlock = false; // got bytes: decrypt what is buffered, but do not wait for more
                }
            }
            int n = dst.position() - start;
            return n == 0 && inboundDone ? -1 : n;
        }

        private static int copy(ByteBuffer from, ByteBuffer to) {
            int n = Math.min(from.remaining(), to.remaining());
            ByteBuffer slice = from.slice(from.position(), n);
            to.put(slice);
            from.position(from.position() + n);
            return n;
        }

        @Override
        void writeFully(ByteBuffer src) throws IOException {
            wrapAndSend(src);
        }
    }
}
