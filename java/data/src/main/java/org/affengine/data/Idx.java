package org.affengine.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * The IDX format of (Fashion-)MNIST: big-endian magic {@code 0x00 0x00 type dims}, one int32 per dimension, then the
 * values. Only unsigned bytes (type 0x08) are read; gzip-compressed files are recognised by their first bytes.
 * Malformed, truncated or foreign files throw an {@link IOException} that says what is wrong.
 */
public final class Idx {
    /** The dimensions and the values of an IDX file. */
    public record Array(int[] shape, byte[] data) {
        public int count() {
            return shape[0];
        }

        @Override
        public String toString() {
            return "Idx.Array" + Arrays.toString(shape);
        }
    }

    private Idx() {}

    public static Array read(Path path) throws IOException {
        byte[] raw = Files.readAllBytes(path);
        if (raw.length >= 2 && (raw[0] & 0xff) == 0x1f && (raw[1] & 0xff) == 0x8b) {
            try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(raw))) {
                ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length * 4);
                in.transferTo(out);
                raw = out.toByteArray();
            } catch (IOException e) {
                throw new IOException(path + ": corrupt gzip stream: " + e.getMessage(), e);
            }
        }
        return parse(raw, path.toString());
    }

    static Array parse(byte[] b, String what) throws IOException {
        if (b.length < 4) {
            throw new IOException(what + ": truncated IDX header");
        }
        if (b[0] != 0 || b[1] != 0) {
            throw new IOException(what + ": not an IDX file (bad magic)");
        }
        if ((b[2] & 0xff) != 0x08) {
            throw new IOException(what + ": IDX type 0x" + Integer.toHexString(b[2] & 0xff)
                    + " is not supported (unsigned bytes, 0x08, are)");
        }
        int dims = b[3] & 0xff;
        if (dims < 1 || dims > 4) {
            throw new IOException(what + ": " + dims + " dimensions (1 to 4 expected)");
        }
        if (b.length < 4 + 4 * dims) {
            throw new IOException(what + ": truncated IDX header");
        }
        int[] shape = new int[dims];
        long total = 1;
        for (int i = 0; i < dims; i++) {
            int off = 4 + 4 * i;
            shape[i] = ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8)
                    | (b[off + 3] & 0xff);
            if (shape[i] < 0) {
                throw new IOException(what + ": negative dimension");
            }
            total *= shape[i];
        }
        long expected = 4L + 4L * dims + total;
        if (b.length != expected) {
            throw new IOException(what + ": " + b.length + " bytes, the header promises " + expected
                    + (b.length < expected ? " (truncated)" : ""));
        }
        return new Array(shape, Arrays.copyOfRange(b, 4 + 4 * dims, b.length));
    }
}
