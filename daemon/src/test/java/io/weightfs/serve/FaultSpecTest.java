package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code --fault} text forms. */
class FaultSpecTest {
    @Test
    void everyForm_parsesToItsRecord_andPrintsBackTheSameSpec() {
        assertEquals(new Fault.Drop("*.safetensors", 1000, 2), Fault.parse("drop:*.safetensors:1000:2"));
        assertEquals(new Fault.Drop("a:b/*", 0, 1), Fault.parse("drop:a:b/*:0:1"), "the glob may hold colons");
        assertEquals(new Fault.Corrupt("model-0000?.bin"), Fault.parse("corrupt:model-0000?.bin"));
        assertEquals(new Fault.Status(503, 3, null), Fault.parse("status:503:3"));
        assertEquals(new Fault.Status(429, 1, "*.json"), Fault.parse("status:429:1:*.json"));
        assertEquals(new Fault.Throttle(1_000_000), Fault.parse("throttle:1000000"));
        for (String spec : List.of("drop:*.bin:5:1", "corrupt:x", "status:500:2", "status:429:1:a/*", "throttle:7")) {
            assertEquals(spec, Fault.parse(spec).spec());
        }
    }

    @Test
    void badSpecs_areRefusedWithTheSpecAndTheAcceptedForms() {
        for (String bad : List.of("", "explode:now", "drop:*.bin:10", "drop:*.bin:x:1", "drop::10:1", "corrupt:",
                "status:200:1", "status:503", "status:503:0", "throttle:0", "throttle:fast")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fault.parse(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("throttle:<bytesPerSecond>"), e.getMessage());
        }
    }

    @Test
    void globs_matchTheRepoPathOrOrgNamePath_withStarCrossingSlashes() {
        ServedFile f = new ServedFile("acme/tiny", "sub/model-00001.safetensors", null, 1, 0, true, "x", "y", 1);
        assertTrue(Glob.of("*.safetensors").matches(f));
        assertTrue(Glob.of("sub/model-0000?.safetensors").matches(f));
        assertTrue(Glob.of("acme/tiny/*").matches(f));
        assertTrue(Glob.of("*").matches(f));
        assertTrue(!Glob.of("model-*.safetensors").matches(f), "globs are anchored to the whole path");
        assertTrue(!Glob.of("sub/model.(1)*").matches(f), "regex characters are literal");
    }
}
