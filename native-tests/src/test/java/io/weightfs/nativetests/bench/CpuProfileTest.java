package io.weightfs.nativetests.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The benchmark's CPU classifier: the innermost frame that names a category decides. */
class CpuProfileTest {
    @Test
    void innermostNamedFrameDecides() {
        assertEquals("socket read", CpuProfile.classify(
                "java/lang/Thread.run;io/weightfs/hub/Transport.read;sun/nio/ch/SocketChannelImpl.read;sun/nio/ch/SocketDispatcher.read0;"
                        + "entry_SYSCALL_64;__x64_sys_read;sock_read_iter;tcp_recvmsg;copy_user_enhanced_fast_string"));
        assertEquals("HTTP parsing", CpuProfile.classify("java/lang/Thread.run;io/weightfs/hub/Transport.readHead;java/lang/String.indexOf"));
        assertEquals("sha256", CpuProfile.classify(
                "io/weightfs/fetch/BlockFetcher.run;io/weightfs/store/BlobDigest.update;java/security/MessageDigest.update;"
                        + "sun/security/provider/DigestBase.engineUpdate;sun/security/provider/SHA2.implCompress0"));
        assertEquals("crc32c", CpuProfile.classify("io/weightfs/fetch/BlockFetcher.run;java/util/zip/CRC32C.updateDirectByteBuffer"));
        assertEquals("pwrite/fsync", CpuProfile.classify(
                "io/weightfs/store/Blob.write;sun/nio/ch/FileChannelImpl.write;sun/nio/ch/UnixFileDispatcherImpl.pwrite0;__x64_sys_pwrite64"));
        assertEquals("pwrite/fsync", CpuProfile.classify("io/weightfs/store/Syncer.run;sun/nio/ch/FileChannelImpl.force;ext4_sync_file"));
        assertEquals("FUSE reply/copy", CpuProfile.classify(
                "org/cryptomator/jfuse/linux/amd64/FuseImpl.loop;io/weightfs/fs/WeightFs.read;java/nio/HeapByteBuffer.get"));
        assertEquals("JIT/GC/class loading",
                CpuProfile.classify("thread_native_entry;CompileBroker::compiler_thread_loop;C2Compiler::compile_method"));
        assertEquals("JIT/GC/class loading", CpuProfile.classify("okhttp3/OkHttpClient.<init>;ClassFileParser::parse_stream;SymbolTable::do_lookup"));
        assertEquals("sha256 catch-up read", CpuProfile.classify(
                "io/weightfs/store/Blob.catchUp;sun/nio/ch/FileChannelImpl.read;__x64_sys_pread64_[k];filemap_read_[k]"));
        assertEquals("sha256", CpuProfile.classify(
                "io/weightfs/store/Blob.catchUp;io/weightfs/store/BlobDigest.update;sun/security/provider/SHA2.implCompress0"));
        assertEquals("sha256", CpuProfile.classify(
                "io/weightfs/store/BlobDigest.update;java/nio/ByteBuffer.get;jdk/internal/misc/Unsafe.copyMemory0"));
        assertEquals("other", CpuProfile.classify("java/lang/Thread.run;io/weightfs/fetch/Prefetcher.loop;java/util/HashMap.get"));
    }

    @Test
    void dottedNamesMatchToo() {
        assertEquals("sha256", CpuProfile.classify("io.weightfs.store.BlobDigest.update;sun.security.provider.SHA2.implCompress0"));
        assertEquals("FUSE reply/copy", CpuProfile.classify("io.weightfs.fs.WeightFs.read"));
    }

    @Test
    void countsAddUpPerCategoryAndScaleToCpuSecondsPerGib() {
        CpuProfile p = CpuProfile.parse(List.of(
                "a;sun/nio/ch/SocketDispatcher.read0 300",
                "",
                "a;sun/security/provider/SHA2.implCompress0 600",
                "a;b;c 100"));
        assertEquals(300, p.samples("socket read"));
        assertEquals(600, p.samples("sha256"));
        assertEquals(100, p.samples("other"));
        assertEquals(1000, p.total());
        // 1 ms samples over 2 GiB: 300 samples = 0.15 CPU-s/GiB.
        String s = p.perGib(0.001, 2);
        assertTrue(s.startsWith("socket read 0.15, HTTP parsing 0.00, pwrite/fsync 0.00, sha256 0.30, sha256 catch-up read 0.00,"), s);
        assertTrue(s.endsWith("= 0.50 CPU-s/GiB (1000 samples)"), s);
    }

    @Test
    void aLineWithoutACountIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> CpuProfile.parse(List.of("a;b;c")));
        assertThrows(IllegalArgumentException.class, () -> CpuProfile.parse(List.of("a;b;c x")));
    }
}
