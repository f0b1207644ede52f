package io.weightfs.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.config.Token;
import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bulk reader over TLS: a plain "Hub" redirects to an HTTPS "CDN" with a certificate made by
 * the JDK's keytool for the test, as the real Hub redirects to its CDN. The token never goes to
 * the CDN; a certificate for another name is refused.
 */
class BulkTlsTest {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final PatternContent CONTENT = new PatternContent(33, 5L * 1024 * 1024 + 3);
    private static final String PASS = "changeit";

    @TempDir
    Path dir;

    private ScriptedServer hub;
    private ScriptedServer cdn;
    private HubClient client;

    @AfterEach
    void stop() throws IOException {
        if (client != null) {
            client.close();
        }
        for (ScriptedServer s : new ScriptedServer[] {hub, cdn}) {
            if (s != null) {
                s.close();
            }
        }
    }

    /** A PKCS12 key store with one self-signed certificate, made by keytool. */
    private KeyStore keyStore(String name, String san) throws Exception {
        Path ks = dir.resolve(name + ".p12");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-alias", "cdn", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + name, "-ext", "SAN=" + san,
                "-validity", "2", "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", PASS, "-keypass", PASS)
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, new String(out));
        KeyStore k = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            k.load(in, PASS.toCharArray());
        }
        return k;
    }

    private static SSLContext serverContext(KeyStore k) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(k, PASS.toCharArray());
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(kmf.getKeyManagers(), null, null);
        return c;
    }

    private static SSLContext trusting(KeyStore k) throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(k);
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(null, tmf.getTrustManagers(), null);
        return c;
    }

    private void start(KeyStore cdnKeys) throws Exception {
        cdn = new ScriptedServer(serverContext(cdnKeys).getServerSocketFactory(), (r, out) -> {
            long s = r.rangeStart();
            long e = r.rangeEnd();
            ScriptedServer.head(out, "206 Partial Content", "Content-Range: bytes " + s + "-" + e + "/" + CONTENT.size(),
                    "Content-Length: " + (e - s + 1));
            out.write(CONTENT.bytes(s, (int) (e - s + 1)));
            return true;
        });
        String location = "https://127.0.0.1:" + cdn.port() + "/signed/w.bin?Expires=1&Signature=x";
        hub = new ScriptedServer((r, out) -> {
            ScriptedServer.head(out, "302 Found", "Location: " + location, "X-Linked-Size: " + CONTENT.size(),
                    "X-Linked-Etag: \"abc\"", "X-Repo-Commit: " + COMMIT, "Content-Length: 0");
            return true;
        });
    }

    private HubClient client(SSLContext tls) {
        client = new HubClient(new HubClient.Options(hub.endpoint(), 4, Duration.ofSeconds(5), Duration.ofSeconds(5),
                new RetryPolicy(1, Duration.ofMillis(10), () -> 0.5), d -> { }, Clock.systemUTC(), false).withTls(tls));
        return client;
    }

    private static RemoteFile file() {
        return new RemoteFile("acme/m", COMMIT, "w.bin", CONTENT.size(), Optional.of(new Token("hf_secret", "test")));
    }

    @Test
    void aRangeFromAnHttpsCdn_isReadExactly_andTheTokenStaysWithTheHub() throws Exception {
        KeyStore keys = keyStore("localhost", "ip:127.0.0.1,dns:localhost");
        start(keys);
        HubClient c = client(trusting(keys));
        ByteBuffer dst = ByteBuffer.allocateDirect(3 * 1024 * 1024);
        try (ByteStream s = c.openRange(file(), 1_000_000, dst.capacity(), Deadline.NONE)) {
            while (s.read(dst) >= 0) {
                // TLS records are decrypted straight into the buffer
            }
        }
        byte[] got = new byte[dst.position()];
        dst.flip().get(got);
        assertArrayEquals(CONTENT.bytes(1_000_000, got.length), got);
        assertEquals(3 * 1024 * 1024, got.length);
        List<ScriptedServer.Request> gets = cdn.gets();
        assertEquals(1, gets.size());
        assertNull(gets.get(0).header("authorization"), "the CDN never sees the token");
        assertEquals("/signed/w.bin?Expires=1&Signature=x", gets.get(0).target());
        assertEquals("Bearer hf_secret", hub.requests().get(0).header("authorization"));
    }

    @Test
    void aCertificateForAnotherName_isRefused() throws Exception {
        KeyStore keys = keyStore("elsewhere.example", "dns:elsewhere.example");
        start(keys);
        HubClient c = client(trusting(keys));
        IOException e = assertThrows(IOException.class, () -> {
            try (ByteStream s = c.openRange(file(), 0, 100, Deadline.NONE)) {
                s.read(ByteBuffer.allocate(100));
            }
        });
        String all = e.toString() + (e.getCause() == null ? "" : e.getCause().toString());
        assertTrue(all.contains("127.0.0.1") || all.toLowerCase().contains("certificate") || all.contains("SAN"), all);
        assertTrue(cdn.gets().isEmpty(), "no request went over a connection whose certificate was refused");
    }
}
