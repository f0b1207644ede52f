package io.weightfs.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class that mounts real FUSE filesystems: it runs where FUSE is usable and is
 * skipped, with the missing prerequisite printed, only where something {@code ./test.sh} cannot
 * install is absent (see {@link FusePrerequisites}).
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(FusePrerequisites.Condition.class)
public @interface RequiresFuse {}
