package io.weightfs.serve;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;

/**
 * Sends one served file on either port: conditional requests, ranges, and the body faults
 * (cut, corrupt, throttle). Stateless apart from the stats it reports to; thread-safe.
 */
final class FileResponder {
    private final StatsRecorder stats;

    FileResponder(StatsRecorder stats) {
        this.stats = stats;
    }

    /**
     * Answers a GET or HEAD for {@code file}.
     *
     * @param headers headers to send besides the ones set here (e.g. {@code X-Repo-Commit})
     * @param etag the quoted ETag of this response
     * @param port {@code "hub"} or {@code "cdn"}, for the stats
     */
    void serve(Exchange ex, ServedFile file, ResponseHeaders headers, String etag, FaultPlan faults, String port)
            throws IOException {
        HttpRequest req = ex.request();
        headers.set("ETag", etag);
        if (ifNoneMatch(req.header("if-none-match"), etag)) {
            ex.respondWithoutBody(304, headers);
            return;
        }
        headers.set("Accept-Ranges", "bytes").set("Content-Type", "application/octet-stream");
        long size = file.size();
        String rangeHeader = req.header("range");
        ByteRange range = ByteRange.parse(rangeHeader, size);
        long offset = 0;
        long length = size;
        int status = 200;
        if (range.kind() == ByteRange.Kind.UNSATISFIABLE) {
            if (size == 0) {
                // No range of an empty file is satisfiable, yet huggingface.js probes every file with
                // "bytes=0-0" and fails on a 416; a 200 carrying the total in Content-Range (as the
                // probe reads it) serves it and every other client: RFC 9110 lets a 200 ignore Range.
                headers.set("Content-Range", "bytes */0");
            } else {
                throw new HubError(416, "RangeNotSatisfiable",
                        "Range '" + rangeHeader + "' is beyond the end of " + file.path() + " (" + size + " bytes)")
                        .with("Content-Range", "bytes */" + size);
            }
        } else if (range.kind() == ByteRange.Kind.PARTIAL) {
            status = 206;
            offset = range.first();
            length = range.length();
            headers.set("Content-Range", "bytes " + range.first() + "-" + range.last() + "/" + size);
        }

        FileChannel channel;
        try {
            channel = FileChannel.open(file.file(), StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new HubError(404, "EntryNotFound", file.repo() + "/" + file.path()
                    + " was removed from disk after the scan; restart the server or rescan");
        } catch (IOException e) {
            throw new HubError(500, "InternalError", "cannot read " + file.repo() + "/" + file.path() + ": " + e.getMessage());
        }
        try (channel) {
            BodyShaping shaping = BodyShaping.PLAIN;
            if (req.isGet()) {
                stats.download(new ServeStats.Download(file.repo(), file.path(), file.contentHash(),
                        status == 206 ? range.text() : null, port));
                shaping = new BodyShaping(faults.takeCut(file, length), faults.corrupts(file), faults.throttle(),
                        stats::bodyBytes);
            }
            ex.respondFile(status, headers, channel, offset, length, shaping);
        }
    }

    /**
     * Answers a GET or HEAD with bytes held in memory (an LFS pointer on {@code /raw}), with ranges
     * and conditional requests as for files.
     */
    void serveBytes(Exchange ex, String path, byte[] body, ResponseHeaders headers, String etag) throws IOException {
        HttpRequest req = ex.request();
        headers.set("ETag", etag);
        if (ifNoneMatch(req.header("if-none-match"), etag)) {
            ex.respondWithoutBody(304, headers);
            return;
        }
        headers.set("Accept-Ranges", "bytes").set("Content-Type", "text/plain; charset=utf-8");
        String rangeHeader = req.header("range");
        ByteRange range = ByteRange.parse(rangeHeader, body.length);
        if (range.kind() == ByteRange.Kind.UNSATISFIABLE) {
            throw new HubError(416, "RangeNotSatisfiable",
                    "Range '" + rangeHeader + "' is beyond the end of " + path + " (" + body.length + " bytes)")
                    .with("Content-Range", "bytes */" + body.length);
        }
        if (range.kind() == ByteRange.Kind.PARTIAL) {
            headers.set("Content-Range", "bytes " + range.first() + "-" + range.last() + "/" + body.length);
            byte[] part = java.util.Arrays.copyOfRange(body, (int) range.first(), (int) (range.first() + range.length()));
            ex.respond(206, headers, part);
            return;
        }
        ex.respond(200, headers, body);
    }

    /** Whether an {@code If-None-Match} header matches {@code etag} (weak comparison, as RFC 9110 asks). */
    static boolean ifNoneMatch(String header, String... etags) {
        if (header == null) {
            return false;
        }
        for (String candidate : header.split(",")) {
            String c = candidate.strip();
            if (c.equals("*")) {
                return true;
            }
            if (c.startsWith("W/")) {
                c = c.substring(2);
            }
            for (String etag : etags) {
                if (c.equals(etag) || ('"' + c + '"').equals(etag)) {
                    return true;
                }
            }
        }
        return false;
    }
}
