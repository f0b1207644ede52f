package io.weightfs.fuse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A daemon to kill: mounts a small {@link InMemoryFs} at {@code args[1]} with binding {@code args[0]},
 * prints {@link #READY}, and serves until killed. Run in a child JVM by {@link FuseMountTest} to
 * leave a stale mount behind, as a daemon that died would.
 */
final class MountChild {
    static final String READY = "MOUNTED";

    private MountChild() {}

    public static void main(String[] args) throws Exception {
        InMemoryFs fs = new InMemoryFs().file("/hello.txt", "hello\n".getBytes(StandardCharsets.UTF_8));
        MountedFs mounted = FuseMounter.mount(fs, Path.of(args[1]),
                MountOptions.defaults().withBinding(FuseBinding.valueOf(args[0])));
        System.out.println(READY);
        System.out.flush();
        mounted.awaitUnmounted();
    }
}
