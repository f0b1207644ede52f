package io.weightfs.cli;

import picocli.CommandLine;

/** Reports the version stamped into the jar manifest at build time. */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"weightfs " + (v == null ? "(development build)" : v) + ", Java " + Runtime.version()};
    }
}
