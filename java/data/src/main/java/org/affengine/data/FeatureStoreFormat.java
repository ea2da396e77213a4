package org.affengine.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The on-disk layout of a feature store, shared by writer and reader. A store is a directory:
 * <pre>
 * manifest.json                       format, dataset, models (specs), shard size, and every complete shard
 * MODEL-SSSSS.f16                     global model: little-endian fp16 [count, dim]
 * MODEL-SSSSS.offsets.i64             local model: little-endian int64 [count + 1] row offsets
 * MODEL-SSSSS.rows.f16                local model: fp16 [total rows, dim]
 * MODEL-SSSSS.pos.f32                 local model: float32 [total rows, 3] = x, y, scale
 * </pre>
 * Shard files are written under a temporary name, fsynced and renamed, and only then listed (with their CRC-32C)
 * in the manifest, which is itself replaced atomically: whatever the manifest lists is complete.
 */
final class FeatureStoreFormat {
    static final String FORMAT = "aff-feature-store";
    static final int VERSION = 1;
    static final String MANIFEST = "manifest.json";
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private FeatureStoreFormat() {}

    /** One file of a shard: its name, size and CRC-32C (hex). */
    record FileEntry(String file, long bytes, String crc32c) {}

    /** A complete shard: images [first, first + count) and its files per model and part. */
    record Shard(int index, int first, int count, Map<String, Map<String, FileEntry>> files) {}

    record Manifest(String format, int version, String dataset, String split, int size, int shardSize,
                    List<FeatureSpec> models, List<Shard> shards) {
        int complete() {
            return shards.stream().mapToInt(Shard::count).sum();
        }

        /** True when another writer's parameters describe the same store. */
        boolean sameStore(Manifest other) {
            return format.equals(other.format) && version == other.version && dataset.equals(other.dataset)
                    && split.equals(other.split) && size == other.size && shardSize == other.shardSize
                    && models.equals(other.models);
        }
    }

    static String shardFile(String model, int shard, String part) {
        return String.format(Locale.ROOT, "%s-%05d.%s", model, shard, part);
    }

    static Manifest readManifest(Path dir) throws IOException {
        Path file = dir.resolve(MANIFEST);
        Manifest m;
        try {
            m = JSON.readValue(file.toFile(), Manifest.class);
        } catch (IOException e) {
            throw new IOException(file + ": not a readable feature store manifest: " + e.getMessage(), e);
        }
        if (!FORMAT.equals(m.format()) || m.version() != VERSION) {
            throw new IOException(file + ": format " + m.format() + " v" + m.version() + ", expected " + FORMAT
                    + " v" + VERSION);
        }
        return m;
    }

    /** Replaces the manifest atomically (temporary file, fsync, rename, fsync of the directory). */
    static void writeManifest(Path dir, Manifest m) throws IOException {
        writeAtomically(dir, MANIFEST, JSON.writeValueAsBytes(m));
    }

    static void writeAtomically(Path dir, String name, byte[] data) throws IOException {
        AtomicFiles.write(dir, name, data);
    }

    static String crc32c(byte[] data) {
        return AtomicFiles.crc32c(data);
    }

    static String crc32c(ByteBuffer data) {
        return AtomicFiles.crc32c(data);
    }
}
