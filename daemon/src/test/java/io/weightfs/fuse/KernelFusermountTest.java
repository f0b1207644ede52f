package io.weightfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel transport's unprivileged route (fusermount3 mounts and sends the device fd over
 * {@code _FUSE_COMMFD}), taken here as root through {@code -Dweightfs.fuse.mount=fusermount3}: a
 * real mount whose files read right, which {@code MountedFs.close()} unmounts.
 */
@io.weightfs.testing.RequiresFuse
class KernelFusermountTest {
    private static final PatternContent CONTENT = new PatternContent(7, 2L * 1024 * 1024 + 17);

    @TempDir
    Path tmp;

    @Test
    void mountThroughFusermount3_servesTheFiles_andUnmountsOnClose() throws IOException {
        InMemoryFs fs = new InMemoryFs().file("/a.bin", CONTENT)
                .file("/c.json", "{}\n".getBytes(StandardCharsets.UTF_8));
        Path mp = Files.createDirectory(tmp.resolve("mnt"));
        System.setProperty(KernelSession.MOUNT_PROPERTY, "fusermount3");
        try (MountedFs m = FuseMounter.mount(fs, mp, MountOptions.defaults().withBinding(FuseBinding.KERNEL))) {
            MountTable.Entry e = MountTable.find(MountTable.canonical(mp)).orElseThrow();
            assertEquals("fuse.weightfs", e.fsType());
            assertEquals(-1, CONTENT.firstDifference(m.mountpoint().resolve("a.bin")));
            assertEquals("{}\n", Files.readString(m.mountpoint().resolve("c.json")));
            assertTrue(m.transportNote().contains("passthrough"), m.transportNote());
        } finally {
            System.clearProperty(KernelSession.MOUNT_PROPERTY);
        }
        assertFalse(MountTable.find(MountTable.canonical(mp)).filter(MountTable.Entry::isFuse).isPresent(),
                "close() unmounted it");
    }
}
