package io.weightfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class MountOptionsTest {
    @Test
    void defaults_areJfuseReadOnlyWithHourLongCaches_andNoBlanketKernelCache() {
        MountOptions o = MountOptions.defaults();
        assertEquals(FuseBinding.JFUSE, o.binding());
        assertEquals(4096, o.readAheadKb());
        assertEquals("ro,default_permissions,fsname=weightfs,attr_timeout=3600,entry_timeout=3600",
                o.fuseOptions());
    }

    @Test
    void jnr_alsoGetsUseIno_andAllowOtherIsAddedWhenAsked() {
        String jnr = MountOptions.defaults().withBinding(FuseBinding.JNR).withAllowOther(true)
                .withCacheTimeouts(Duration.ofMillis(1500), Duration.ZERO).fuseOptions();
        assertEquals("ro,default_permissions,fsname=weightfs,attr_timeout=1.5,entry_timeout=0"
                + ",use_ino,allow_other", jnr);
    }

    @Test
    void badValues_areRefusedWithTheValueInTheMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MountOptions.defaults().withFsName("a,b"));
        assertTrue(e.getMessage().contains("a,b"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MountOptions.defaults().withReadAheadKb(-1));
        assertThrows(IllegalArgumentException.class, () -> MountOptions.defaults().withCloseTimeout(Duration.ZERO));
    }

    @Test
    void bindingNames_parseCaseInsensitively_andUnknownOnesListTheChoices() {
        assertEquals(FuseBinding.JNR, FuseBinding.fromName("jnr"));
        assertEquals(FuseBinding.JFUSE, FuseBinding.fromName(" JFuse "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FuseBinding.fromName("fuse2"));
        assertTrue(e.getMessage().contains("jfuse, jnr"), e.getMessage());
    }
}
