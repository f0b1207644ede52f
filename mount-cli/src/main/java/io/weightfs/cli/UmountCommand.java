package io.weightfs.cli;

import io.weightfs.fuse.FuseMounter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code weightfs umount}: unmounts, also a mount whose daemon died. */
@Command(name = "umount", mixinStandardHelpOptions = true, description = {
    "Unmount a weightfs mount. A daemon running in the foreground for it exits cleanly; a mount whose",
    "daemon died ('Transport endpoint is not connected') is cleared too."
})
final class UmountCommand implements java.util.concurrent.Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Override
    public Integer call() {
        try {
            FuseMounter.unmount(mountpoint.toAbsolutePath().normalize());
            System.out.println("weightfs umount: unmounted " + mountpoint);
            return 0;
        } catch (IOException e) {
            System.err.println("weightfs umount: " + e.getMessage());
            return Main.EXIT_FAILED;
        }
    }
}
