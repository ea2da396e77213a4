package org.affengine.train;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import org.affengine.data.AtomicFiles;
import org.affengine.data.Features;

/**
 * Keeps what {@link PhotoDescriber} computed for a set of images on disk, so a rerun of the photo experiment with
 * the same images, backbones and settings skips the backbones. Each entry is named by a SHA-256 over everything
 * that decides its content (the caller's {@link Key}); a file that is truncated, fails its CRC-32C or holds another
 * key is described again and overwritten (it is derived data: nothing is lost).
 */
final class DescribedCache {
    private static final String MAGIC = "aff-described-v2";

    /** Accumulates what decides an entry's content: settings and file contents. */
    static final class Key {
        private final MessageDigest sha;

        Key() {
            sha = sha256();
        }

        private Key(MessageDigest sha) {
            this.sha = sha;
        }

        /** An independent key that starts with everything added to this one so far. */
        Key copy() {
            try {
                return new Key((MessageDigest) sha.clone());
            } catch (CloneNotSupportedException e) {
                throw new IllegalStateException(e);
            }
        }

        Key add(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            sha.update(intBytes(b.length));
            sha.update(b);
            return this;
        }

        Key addFile(Path file) throws IOException {
            add(file.getFileName().toString());
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 16];
                long total = 0;
                for (int n; (n = in.read(buf)) > 0; total += n) {
                    sha.update(buf, 0, n);
                }
                return add(Long.toString(total));
            }
        }

        String hex() {
            return HexFormat.of().formatHex(copy().sha.digest());
        }

        private static byte[] intBytes(int v) {
            return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
        }

        private static MessageDigest sha256() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private final Path dir;

    DescribedCache(Path dir) {
        this.dir = dir;
    }

    /** The entry named part under key, computed by describe (and stored) when absent or unusable. */
    PhotoDescriber.Described get(String part, Key key, Supplier<PhotoDescriber.Described> describe)
            throws IOException {
        PhotoDescriber.Described d = find(part, key);
        if (d == null) {
            d = describe.get();
            put(part, key, d);
        }
        return d;
    }

    /** The entry named part under key, or null when it is absent or unusable (then said on stderr). */
    PhotoDescriber.Described find(String part, Key key) {
        Path file = dir.resolve(part + ".described");
        try {
            return read(file, key.hex());
        } catch (NoSuchFileException e) {
            return null;  // first run
        } catch (java.io.EOFException e) {
            System.err.println("photo cache " + file + " is truncated: describing again");
        } catch (IOException | RuntimeException e) {
            System.err.println("photo cache " + file + " unusable (" + e.getMessage() + "): describing again");
        }
        return null;
    }

    /** Stores d as the entry named part under key (atomically: a reader sees the old entry or the new one). */
    void put(String part, Key key, PhotoDescriber.Described d) throws IOException {
        Files.createDirectories(dir);
        String hex = key.hex();
        AtomicFiles.write(dir, part + ".described", out -> write(new CheckedOutputStream(out, new CRC32C()), hex, d));
    }

    private static void write(CheckedOutputStream checked, String key, PhotoDescriber.Described d)
            throws IOException {
        DataOutputStream out = new DataOutputStream(checked);
        out.writeUTF(MAGIC);
        out.writeUTF(key);
        floats(out, d.inception());
        floats(out, d.mobilenet());
        floats(out, d.maps());
        sets(out, d.sift());
        sets(out, d.attention());
        out.flush();
        long crc = checked.getChecksum().getValue();
        out.writeLong(crc);  // after the checksummed part
        out.flush();
    }

    /** The entry, or null when it holds another key. */
    private static PhotoDescriber.Described read(Path file, String key) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            CheckedInputStream checked = new CheckedInputStream(raw, new CRC32C());
            DataInputStream in = new DataInputStream(checked);
            if (!MAGIC.equals(in.readUTF())) {
                throw new IOException("not a described-images cache file");
            }
            if (!key.equals(in.readUTF())) {
                return null;
            }
            float[] inception = floats(in);
            float[] mobilenet = floats(in);
            float[] maps = floats(in);
            List<Features.LocalSet> sift = sets(in);
            List<Features.LocalSet> attention = sets(in);
            long crc = checked.getChecksum().getValue();
            if (new DataInputStream(raw).readLong() != crc) {
                throw new IOException("CRC-32C mismatch");
            }
            return new PhotoDescriber.Described(inception, mobilenet, sift, attention, maps);
        }
    }

    private static void sets(DataOutputStream out, List<Features.LocalSet> sets) throws IOException {
        out.writeInt(sets.size());
        for (Features.LocalSet set : sets) {
            out.writeInt(set.count());
            floats(out, set.rows());
            floats(out, set.positions());
        }
    }

    private static List<Features.LocalSet> sets(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 1 << 24) {
            throw new IOException("bad image count " + n);
        }
        List<Features.LocalSet> sets = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int count = in.readInt();
            sets.add(new Features.LocalSet(count, floats(in), floats(in)));
        }
        return sets;
    }

    private static void floats(DataOutputStream out, float[] v) throws IOException {
        out.writeInt(v.length);
        byte[] b = new byte[v.length * 4];
        java.nio.ByteBuffer.wrap(b).asFloatBuffer().put(v);
        out.write(b);
    }

    private static float[] floats(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 1 << 28) {
            throw new IOException("bad array length " + n);
        }
        byte[] b = new byte[n * 4];
        in.readFully(b);
        float[] v = new float[n];
        java.nio.ByteBuffer.wrap(b).asFloatBuffer().get(v);
        return v;
    }
}
