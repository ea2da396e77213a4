package org.affengine.data;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.affengine.data.FeatureStoreFormat.FileEntry;
import org.affengine.data.FeatureStoreFormat.Manifest;
import org.affengine.data.FeatureStoreFormat.Shard;

/**
 * A complete feature store, memory-mapped: features of image i are found in O(1) (shard i / shardSize) and read
 * straight from the page cache; {@link #globalHalves} hands out the fp16 values without copying. Opening checks
 * the manifest, the file sizes and every file's CRC-32C, and refuses an incomplete store or one whose model specs
 * differ from those expected.
 */
public final class FeatureStore {
    private final Manifest manifest;
    private final Map<String, FeatureSpec> specs = new HashMap<>();
    // Per model, per shard, per part: the mapped file.
    private final Map<String, MappedByteBuffer[]> vectors = new HashMap<>();
    private final Map<String, MappedByteBuffer[]> offsets = new HashMap<>();
    private final Map<String, MappedByteBuffer[]> rows = new HashMap<>();
    private final Map<String, MappedByteBuffer[]> positions = new HashMap<>();

    private FeatureStore(Manifest manifest) {
        this.manifest = manifest;
    }

    /** Opens a store and checks it against the specs of the models that will read it. */
    public static FeatureStore open(Path dir, List<FeatureSpec> expected) throws IOException {
        FeatureStore store = open(dir);
        if (!store.manifest.models().equals(expected)) {
            throw new IOException(dir + " was made by models " + store.manifest.models() + ", not " + expected);
        }
        return store;
    }

    public static FeatureStore open(Path dir) throws IOException {
        Manifest m = FeatureStoreFormat.readManifest(dir);
        if (m.complete() != m.size()) {
            throw new IOException(dir + " is incomplete: " + m.complete() + " of " + m.size()
                    + " images extracted (run the extraction again to resume)");
        }
        FeatureStore s = new FeatureStore(m);
        int shards = m.shards().size();
        for (FeatureSpec spec : m.models()) {
            s.specs.put(spec.name(), spec);
            s.vectors.put(spec.name(), new MappedByteBuffer[shards]);
            s.offsets.put(spec.name(), new MappedByteBuffer[shards]);
            s.rows.put(spec.name(), new MappedByteBuffer[shards]);
            s.positions.put(spec.name(), new MappedByteBuffer[shards]);
        }
        int expectedFirst = 0;
        for (Shard shard : m.shards()) {
            if (shard.first() != expectedFirst || shard.index() < 0 || shard.index() >= shards) {
                throw new IOException(dir + ": shard " + shard.index() + " is out of order");
            }
            expectedFirst += shard.count();
            for (FeatureSpec spec : m.models()) {
                Map<String, FileEntry> parts = shard.files().get(spec.name());
                if (parts == null) {
                    throw new IOException(dir + ": shard " + shard.index() + " lacks model " + spec.name());
                }
                if (spec.kind() == FeatureSpec.Kind.GLOBAL) {
                    s.vectors.get(spec.name())[shard.index()] = map(dir, parts.get("vectors"),
                            (long) shard.count() * spec.dim() * 2);
                } else {
                    MappedByteBuffer off = map(dir, parts.get("offsets"), (shard.count() + 1L) * 8);
                    long total = off.getLong(shard.count() * 8);
                    for (int i = 0; i < shard.count(); i++) {
                        long a = off.getLong(i * 8);
                        long b = off.getLong(i * 8 + 8);
                        if (a < 0 || b < a || b - a > spec.maxLocal()) {
                            throw new IOException(dir + ": bad local offsets in shard " + shard.index());
                        }
                    }
                    s.offsets.get(spec.name())[shard.index()] = off;
                    s.rows.get(spec.name())[shard.index()] = map(dir, parts.get("rows"), total * spec.dim() * 2);
                    s.positions.get(spec.name())[shard.index()] = map(dir, parts.get("positions"), total * 12);
                }
            }
        }
        return s;
    }

    private static MappedByteBuffer map(Path dir, FileEntry entry, long expectedBytes) throws IOException {
        if (entry == null) {
            throw new IOException(dir + ": a shard file is missing from the manifest");
        }
        Path file = dir.resolve(entry.file());
        if (!file.normalize().startsWith(dir.normalize()) || entry.file().contains("/")) {
            throw new IOException(dir + ": manifest names a file outside the store: " + entry.file());
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() != entry.bytes() || entry.bytes() != expectedBytes) {
                throw new IOException(file + ": " + ch.size() + " bytes, the manifest says " + entry.bytes()
                        + " and the shape needs " + expectedBytes + " (truncated or corrupted)");
            }
            MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            buf.order(ByteOrder.LITTLE_ENDIAN);
            if (!FeatureStoreFormat.crc32c(buf).equals(entry.crc32c())) {
                throw new IOException(file + ": checksum mismatch (corrupted)");
            }
            return buf;
        }
    }

    public int size() {
        return manifest.size();
    }

    public String dataset() {
        return manifest.dataset();
    }

    public List<FeatureSpec> models() {
        return manifest.models();
    }

    private FeatureSpec spec(String model, FeatureSpec.Kind kind) {
        FeatureSpec s = specs.get(model);
        if (s == null || s.kind() != kind) {
            throw new IllegalArgumentException("no " + kind.name().toLowerCase(java.util.Locale.ROOT) + " model '"
                    + model + "' in this store (models: " + specs.keySet() + ")");
        }
        return s;
    }

    private int[] locate(int index) {
        if (index < 0 || index >= manifest.size()) {
            throw new IndexOutOfBoundsException("image " + index + " outside [0, " + manifest.size() + ")");
        }
        return new int[] {index / manifest.shardSize(), index % manifest.shardSize()};
    }

    /** The fp16 values of a global vector, without copying (a read-only view of the mapped file). */
    public ShortBuffer globalHalves(String model, int index) {
        FeatureSpec s = spec(model, FeatureSpec.Kind.GLOBAL);
        int[] at = locate(index);
        MappedByteBuffer b = vectors.get(model)[at[0]];
        return b.slice(at[1] * s.dim() * 2, s.dim() * 2).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer()
                .asReadOnlyBuffer();
    }

    public float[] global(String model, int index) {
        ShortBuffer h = globalHalves(model, index);
        float[] out = new float[h.remaining()];
        for (int i = 0; i < out.length; i++) {
            out[i] = Float.float16ToFloat(h.get(i));
        }
        return out;
    }

    public Features.LocalSet local(String model, int index) {
        FeatureSpec s = spec(model, FeatureSpec.Kind.LOCAL);
        int[] at = locate(index);
        MappedByteBuffer off = offsets.get(model)[at[0]];
        long a = off.getLong(at[1] * 8);
        int n = (int) (off.getLong(at[1] * 8 + 8) - a);
        float[] r = new float[n * s.dim()];
        MappedByteBuffer rb = rows.get(model)[at[0]];
        for (int i = 0; i < r.length; i++) {
            r[i] = Float.float16ToFloat(rb.getShort((int) ((a * s.dim() + i) * 2)));
        }
        float[] p = new float[n * 3];
        MappedByteBuffer pb = positions.get(model)[at[0]];
        for (int i = 0; i < p.length; i++) {
            p[i] = pb.getFloat((int) ((a * 3 + i) * 4));
        }
        return new Features.LocalSet(n, r, p);
    }
}
