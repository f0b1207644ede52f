package io.weightfs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RedactorTest {
    @Test
    void aTokenMade_isRemovedFromAnyTextAfterwards_inEveryPlaceItAppears() {
        Token t = new Token("hf_RedactorTestToken_0001", "test");
        String echoed = "Invalid credentials: Bearer " + t.value() + " (you sent " + t.value() + ")";
        String clean = Redactor.redact(echoed);
        assertFalse(clean.contains(t.value()), clean);
        assertEquals("Invalid credentials: Bearer " + Redactor.MASK + " (you sent " + Redactor.MASK + ")", clean);
    }

    @Test
    void theUrlEncodedFormOfASecret_isRemovedToo() {
        Redactor.register("hf_with/slash+plus=0002");
        assertEquals("http://cdn/x?sig=" + Redactor.MASK, Redactor.redact("http://cdn/x?sig=hf_with%2Fslash%2Bplus%3D0002"));
    }

    @Test
    void aVeryShortValue_isNotTreatedAsASecret_soMessagesStayReadable() {
        Redactor.register("ab");
        assertEquals("a tab table", Redactor.redact("a tab table"));
    }

    @Test
    void theRedactingStream_cleansATokenSplitAcrossWrites_andPassesOtherBytesUnchanged() {
        Token t = new Token("hf_RedactorTestToken_0003", "test");
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream out = Redactor.redacting(new PrintStream(sink, true, StandardCharsets.UTF_8));
        String v = t.value();
        out.print("server said: " + v.substring(0, 7));
        out.write(v.substring(7).getBytes(StandardCharsets.UTF_8), 0, v.length() - 7);
        out.println(" ✓ done");
        out.print("\rprogress 50%");
        out.flush();
        String written = sink.toString(StandardCharsets.UTF_8);
        assertFalse(written.contains(v), written);
        assertEquals("server said: " + Redactor.MASK + " ✓ done" + System.lineSeparator() + "\rprogress 50%", written);
    }

    @Test
    void textWithoutSecrets_isReturnedAsItIs() {
        String s = "nothing secret here";
        assertTrue(Redactor.redact(s) == s || Redactor.redact(s).equals(s));
        assertEquals(null, Redactor.redact(null));
    }
}
