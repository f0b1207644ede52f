/**
 * The cold-start benchmark: a program ({@link io.weightfs.nativetests.bench.ColdStartBenchmark}),
 * not a test; run it with {@code ./bench.sh} from the repo root. Nothing here is named *Test, so
 * Surefire never runs it.
 *
 * <p>It owns a generated model ({@code SafetensorsModel}), a simulated model server
 * ({@code ModelServerSim}), the weightfs processes it starts ({@code Weightfs}, {@code Proc}), a
 * shaped link in a network namespace ({@code ShapedLink}), the root-only knobs ({@code Mounts}) and
 * the table it prints ({@code ResultTable}, {@code Samples}). Everything it mounts or creates is
 * removed when it ends, also on Ctrl-C.
 */
package io.weightfs.nativetests.bench;
