package org.affengine.serve;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.affengine.data.AtomicFiles;

/**
 * The gallery's durable state in a directory: {@code gallery.snap}, every live entry as of a generation, written
 * whole and renamed into place; and {@code wal-GENERATION.log}, every put and delete since, one checksummed record
 * each, fsynced before the caller acknowledges the change. Opening reads the snapshot and replays its log; a torn
 * record at the log's end (a crash mid-append, never acknowledged) is cut off. A snapshot starts the next
 * generation's log and deletes the old one, so a crash at any point leaves either the old pair or the new one.
 *
 * <pre>
 * record    int32 payload length | int32 CRC-32C of payload | payload           (big-endian)
 * payload   byte op (1 put, 2 delete) | UTF id | int64 key | put only: int32 d, d float32, UTF metadata JSON,
 *           int32 n, n thumbnail bytes
 * snapshot  "AFFGSNP1" | int64 generation | int64 next key | int32 count | count put payloads | int32 CRC-32C
 * </pre>
 */
final class GalleryLog implements AutoCloseable {
    static final String SNAPSHOT = "gallery.snap";
    private static final byte[] MAGIC = "AFFGSNP1".getBytes(StandardCharsets.US_ASCII);
    private static final byte PUT = 1;
    private static final byte DELETE = 2;
    private static final int MAX_RECORD = 64 << 20;

    /** One gallery item: external id, internal key (the index id), metadata, gallery vector, thumbnail. */
    record Entry(String id, long key, String metadataJson, float[] vector, byte[] thumbnail) {
        Entry withoutVector() {
            return new Entry(id, key, metadataJson, null, thumbnail);
        }

        Entry withVector(float[] v) {
            return new Entry(id, key, metadataJson, v, thumbnail);
        }
    }

    /** What opening found: the live entries, the next free key, and how many log records were replayed. */
    record State(Map<String, Entry> entries, long nextKey, int replayed, boolean truncatedTail) {}

    private final Path dir;
    private long generation;
    private FileChannel log;
    private State recovered;

    private GalleryLog(Path dir) {
        this.dir = dir;
    }

    /**
     * Opens (or creates) the directory's state, ready for appends; {@link #takeRecovered()} hands over what it
     * found.
     */
    static GalleryLog open(Path dir) throws IOException {
        Files.createDirectories(dir);
        GalleryLog g = new GalleryLog(dir);
        Map<String, Entry> entries = new LinkedHashMap<>();
        long nextKey = 0;
        Path snap = dir.resolve(SNAPSHOT);
        if (Files.exists(snap)) {
            long[] header = readSnapshot(snap, entries);
            g.generation = header[0];
            nextKey = header[1];
        }
        Path logFile = g.logFile(g.generation);
        for (long old = g.generation - 1; old >= 0 && Files.deleteIfExists(g.logFile(old)); old--) {
            // logs of generations a snapshot already holds (a crash came between the snapshot and the delete)
        }
        int replayed = 0;
        boolean truncated = false;
        if (Files.exists(logFile)) {
            byte[] bytes = Files.readAllBytes(logFile);
            ByteBuffer in = ByteBuffer.wrap(bytes);
            long good = 0;
            while (in.remaining() >= 8) {
                int length = in.getInt();
                int crc = in.getInt();
                if (length < 0 || length > MAX_RECORD || length > in.remaining()) {
                    break;
                }
                byte[] payload = new byte[length];
                in.get(payload);
                if (crc32c(payload) != crc) {
                    break;
                }
                Entry e = apply(payload, entries);
                nextKey = Math.max(nextKey, e.key() + 1);
                replayed++;
                good = in.position();
            }
            truncated = good != bytes.length;
            if (truncated) {
                try (FileChannel ch = FileChannel.open(logFile, StandardOpenOption.WRITE)) {
                    ch.truncate(good);
                    ch.force(true);
                }
            }
        }
        g.log = FileChannel.open(logFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        g.recovered = new State(entries, nextKey, replayed, truncated);
        return g;
    }

    private Path logFile(long gen) {
        return dir.resolve("wal-" + gen + ".log");
    }

    /** Appends a put and fsyncs: when this returns, the entry survives a crash. */
    synchronized void put(Entry e) throws IOException {
        append(encodePut(e));
        log.force(false);
    }

    /** Appends many puts with one fsync at the end (bulk loading). */
    synchronized void putAll(List<Entry> entries) throws IOException {
        for (Entry e : entries) {
            append(encodePut(e));
        }
        log.force(false);
    }

    /** Appends a delete and fsyncs. */
    synchronized void delete(String id, long key) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(DELETE);
            out.writeUTF(id);
            out.writeLong(key);
        }
        append(bytes.toByteArray());
        log.force(false);
    }

    private void append(byte[] payload) throws IOException {
        ByteBuffer record = ByteBuffer.allocate(8 + payload.length);
        record.putInt(payload.length).putInt(crc32c(payload)).put(payload).flip();
        while (record.hasRemaining()) {
            log.write(record);
        }
    }

    /** Writes every live entry as the next generation's snapshot, starts its empty log, drops the old log. */
    synchronized void snapshot(Iterable<Entry> live, long nextKey) throws IOException {
        long next = generation + 1;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<byte[]> payloads = new ArrayList<>();
        int count = 0;
        for (Entry e : live) {
            payloads.add(encodePut(e));
            count++;
        }
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.write(MAGIC);
            out.writeLong(next);
            out.writeLong(nextKey);
            out.writeInt(count);
            for (byte[] p : payloads) {
                out.writeInt(p.length);
                out.write(p);
            }
        }
        byte[] body = bytes.toByteArray();
        byte[] file = ByteBuffer.allocate(body.length + 4).put(body).putInt(crc32c(body)).array();
        // Empty even if an earlier, interrupted snapshot left this generation's log behind (nothing was acknowledged
        // into it: its snapshot never took effect). Writes then advance from position 0, appending.
        FileChannel newLog = FileChannel.open(logFile(next), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        newLog.force(true);
        AtomicFiles.write(dir, SNAPSHOT, file);  // from here on, generation `next` is the state
        log.close();
        log = newLog;
        try {
            Files.delete(logFile(generation));
        } catch (NoSuchFileException ignored) {
            // a previous snapshot's log: already gone
        }
        generation = next;
    }

    /** The state found on opening, handed over once (the log keeps no reference to it afterwards). */
    State takeRecovered() {
        State s = recovered;
        recovered = null;
        if (s == null) {
            throw new IllegalStateException("the recovered state was already taken");
        }
        return s;
    }

    long generation() {
        return generation;
    }

    @Override
    public synchronized void close() throws IOException {
        log.close();
    }

    private static long[] readSnapshot(Path snap, Map<String, Entry> entries) throws IOException {
        byte[] file = Files.readAllBytes(snap);
        if (file.length < MAGIC.length + 24) {
            throw new IOException(snap + ": too short for a gallery snapshot");
        }
        int stored = ByteBuffer.wrap(file, file.length - 4, 4).getInt();
        byte[] body = java.util.Arrays.copyOf(file, file.length - 4);
        if (crc32c(body) != stored || !java.util.Arrays.equals(MAGIC, java.util.Arrays.copyOf(body, 8))) {
            throw new IOException(snap + ": not a gallery snapshot or corrupt (checksum mismatch)");
        }
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(body, 8, body.length - 8))) {
            long gen = in.readLong();
            long nextKey = in.readLong();
            int count = in.readInt();
            for (int i = 0; i < count; i++) {
                byte[] payload = new byte[in.readInt()];
                in.readFully(payload);
                apply(payload, entries);
            }
            return new long[] {gen, nextKey};
        }
    }

    private static Entry apply(byte[] payload, Map<String, Entry> entries) throws IOException {
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(payload))) {
            byte op = in.readByte();
            String id = in.readUTF();
            long key = in.readLong();
            if (op == DELETE) {
                entries.remove(id);
                return new Entry(id, key, null, null, null);
            }
            if (op != PUT) {
                throw new IOException("unknown gallery log operation " + op);
            }
            float[] v = new float[in.readInt()];
            for (int i = 0; i < v.length; i++) {
                v[i] = in.readFloat();
            }
            String meta = in.readUTF();
            byte[] thumb = new byte[in.readInt()];
            in.readFully(thumb);
            Entry e = new Entry(id, key, meta, v, thumb);
            entries.remove(id);  // a replacement moves to the end, as it does in the live gallery
            entries.put(id, e);
            return e;
        }
    }

    private static byte[] encodePut(Entry e) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 4 * e.vector().length + e.thumbnail().length);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(PUT);
            out.writeUTF(e.id());
            out.writeLong(e.key());
            out.writeInt(e.vector().length);
            for (float f : e.vector()) {
                out.writeFloat(f);
            }
            out.writeUTF(e.metadataJson());
            out.writeInt(e.thumbnail().length);
            out.write(e.thumbnail());
        }
        return bytes.toByteArray();
    }

    private static int crc32c(byte[] data) {
        CRC32C crc = new CRC32C();
        crc.update(data);
        return (int) crc.getValue();
    }
}
