package io.weightfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MountTableTest {
    @Test
    void aFuseLine_withOptionalFields_givesIdDeviceMountPointTypeAndSource() {
        MountTable.Entry e = MountTable.parse(
                "612 28 0:57 / /app/model_cache rw,nosuid,nodev,relatime shared:310 master:1 - fuse weightfs"
                        + " ro,user_id=0,group_id=0,default_permissions");
        assertEquals(612, e.id());
        assertEquals("0:57", e.device());
        assertEquals(Path.of("/app/model_cache"), e.mountPoint());
        assertEquals("fuse", e.fsType());
        assertEquals("weightfs", e.source());
        assertTrue(e.isFuse());
    }

    @Test
    void octalEscapes_inMountPoints_areDecoded() {
        MountTable.Entry e = MountTable.parse("30 1 0:40 / /mnt/my\\040models\\134x rw - fuse.sshfs host:/ rw");
        assertEquals(Path.of("/mnt/my models\\x"), e.mountPoint());
        assertTrue(e.isFuse(), "fuse.<subtype> is FUSE");
    }

    @Test
    void otherFilesystems_areNotFuse_andMalformedLinesAreSkipped() {
        assertFalse(MountTable.parse("22 1 0:21 / /proc rw,nosuid - proc proc rw").isFuse());
        assertFalse(MountTable.parse("40 1 0:33 / /fusefs rw - tmpfs fuse rw").isFuse(), "the type decides, not names");
        assertNull(MountTable.parse("garbage"));
        assertNull(MountTable.parse("1 2 3 4 5 6 7 8"));
    }
}
