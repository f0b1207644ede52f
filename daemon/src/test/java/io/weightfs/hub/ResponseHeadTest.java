package io.weightfs.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The strict response-head parser, fed hostile and broken heads. */
class ResponseHeadTest {
    private static ResponseHead parse(String head) throws ResponseHead.MalformedException {
        byte[] b = head.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer buf = ByteBuffer.allocate(b.length + 10);
        buf.put(b);
        int end = ResponseHead.headEnd(buf);
        if (end < 0) {
            throw new ResponseHead.MalformedException("incomplete");
        }
        return ResponseHead.parse(buf, end);
    }

    private static String refused(String head) {
        return assertThrows(ResponseHead.MalformedException.class, () -> parse(head)).getMessage();
    }

    @Test
    void aWellFormedHead_isParsed_withHeaderNamesLowerCased() throws Exception {
        ResponseHead h = parse("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nContent-Length: 10\r\n\r\n");
        assertEquals(206, h.status());
        assertEquals("bytes 0-9/100", h.header("Content-Range"));
        assertEquals(10, h.contentLength());
        assertNull(h.header("content-encoding"));
    }

    @Test
    void aStatusLineWithoutAReasonPhrase_isAccepted() throws Exception {
        assertEquals(200, parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").status());
    }

    @Test
    void theEndOfAHead_isFoundOnlyAtABlankLine() {
        ByteBuffer buf = ByteBuffer.allocate(100);
        buf.put("HTTP/1.1 200 OK\r\nA: b\r\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(-1, ResponseHead.headEnd(buf));
        buf.put("\r\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(buf.position(), ResponseHead.headEnd(buf));
    }

    @Test
    void somethingThatIsNotHttp_isRefused_quotingIt() {
        assertTrue(refused("SSH-2.0-OpenSSH\r\n\r\n").contains("not an HTTP/1.x response: 'SSH-2.0-OpenSSH'"));
        assertTrue(refused("HTTP/2 200\r\n\r\n").contains("not an HTTP/1.x response"));
    }

    @Test
    void aBadStatusCode_isRefused() {
        assertTrue(refused("HTTP/1.1 2x6 Partial\r\n\r\n").contains("bad status code"));
        assertTrue(refused("HTTP/1.1 020 Odd\r\n\r\n").contains("bad status code"));
        assertTrue(refused("HTTP/1.1 2066 Long\r\n\r\n").contains("bad status line"));
    }

    @Test
    void foldedOrNamelessHeaders_areRefused() {
        assertTrue(refused("HTTP/1.1 200 OK\r\nA: b\r\n  continued\r\n\r\n").contains("folded"));
        assertTrue(refused("HTTP/1.1 200 OK\r\n: nameless\r\n\r\n").contains("without a name"));
        assertTrue(refused("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n").contains("bad header name"));
    }

    @Test
    void controlBytesInTheHead_areRefused() {
        assertTrue(refused("HTTP/1.1 200 OK\r\nA: b\u0000c\r\n\r\n").contains("control byte 0x0"));
    }

    @Test
    void twoDifferentContentLengths_areRefused_twoEqualOnesAccepted() throws Exception {
        ResponseHead dup = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
        assertTrue(assertThrows(ResponseHead.MalformedException.class, dup::contentLength).getMessage().contains("different"));
        assertEquals(5, parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").contentLength());
    }

    @Test
    void aContentLengthThatIsNotADecimalNumber_isRefused() throws Exception {
        for (String bad : new String[] {"-1", "0x10", "1e3", "99999999999999999999", ""}) {
            ResponseHead h = parse("HTTP/1.1 200 OK\r\nContent-Length: " + bad + "\r\n\r\n");
            assertThrows(ResponseHead.MalformedException.class, h::contentLength, bad);
        }
    }

    @Test
    void tooManyHeaders_areRefused() {
        StringBuilder b = new StringBuilder("HTTP/1.1 200 OK\r\n");
        for (int i = 0; i <= ResponseHead.MAX_HEADERS; i++) {
            b.append("X-").append(i).append(": v\r\n");
        }
        assertTrue(refused(b.append("\r\n").toString()).contains("more than"));
    }

    @Test
    void connectionClose_isSeenInAnyCaseAndList() throws Exception {
        assertTrue(parse("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n\r\n").closesConnection());
    }

    @Test
    void contentRanges_areParsedStrictly() {
        assertEquals(java.util.List.of(0L, 9L, 100L), java.util.Arrays.stream(HubClient.parseContentRange("bytes 0-9/100")).boxed().toList());
        assertEquals(-1L, HubClient.parseContentRange("bytes 0-9/*")[2]);
        for (String bad : new String[] {"bytes 9-0/100", "bytes 0-100/100", "items 0-9/100", "bytes 0-9", "bytes -1-9/100", "bytes 0-9/1x"}) {
            assertNull(HubClient.parseContentRange(bad), bad);
        }
    }
}
