package org.affengine.serve;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

/**
 * The file part of a multipart/form-data body (RFC 7578), enough for an upload form: the first part that has a
 * filename or an image content type. Parts are located by their boundary; nothing is decoded or written anywhere.
 */
final class Multipart {
    private Multipart() {}

    /** The boundary of a multipart/form-data content type, if it is one. */
    static Optional<String> boundary(String contentType) {
        if (!contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            return Optional.empty();
        }
        for (String param : contentType.split(";")) {
            String p = param.trim();
            if (p.toLowerCase(Locale.ROOT).startsWith("boundary=")) {
                String b = p.substring("boundary=".length());
                if (b.length() >= 2 && b.startsWith("\"") && b.endsWith("\"")) {
                    b = b.substring(1, b.length() - 1);
                }
                if (!b.isEmpty() && b.length() <= 70) {
                    return Optional.of(b);
                }
            }
        }
        return Optional.empty();
    }

    /** The bytes of the file part, or empty when the body has none (or is not well formed). */
    static Optional<byte[]> filePart(byte[] body, String boundary) {
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        int at = indexOf(body, delimiter, 0);
        while (at >= 0) {
            int headersStart = at + delimiter.length;
            if (headersStart + 2 > body.length || (body[headersStart] == '-' && body[headersStart + 1] == '-')) {
                return Optional.empty();  // the closing delimiter
            }
            int headersEnd = indexOf(body, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), headersStart);
            if (headersEnd < 0) {
                return Optional.empty();
            }
            String headers = new String(body, headersStart, headersEnd - headersStart, StandardCharsets.ISO_8859_1)
                    .toLowerCase(Locale.ROOT);
            int contentStart = headersEnd + 4;
            int next = indexOf(body, ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1), contentStart);
            if (next < 0) {
                return Optional.empty();
            }
            if (headers.contains("filename=") || headers.contains("content-type: image/")) {
                return Optional.of(java.util.Arrays.copyOfRange(body, contentStart, next));
            }
            at = next + 2;
        }
        return Optional.empty();
    }

    private static int indexOf(byte[] data, byte[] pattern, int from) {
        outer:
        for (int i = Math.max(0, from); i <= data.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
