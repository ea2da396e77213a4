package org.affengine.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.affengine.data.FeatureStoreFormat.FileEntry;
import org.affengine.data.FeatureStoreFormat.Manifest;
import org.affengine.data.FeatureStoreFormat.Shard;

/**
 * Writes a feature store one shard at a time, so memory stays bounded by one shard whatever the dataset size. It
 * resumes where a previous run stopped, even one killed with -9: only shards the manifest lists count, leftovers of
 * an interrupted shard are removed, and {@link #nextIndex()} says which image comes next. A directory holding a
 * store made for another dataset, split, size, shard size or other models is refused.
 */
public final class FeatureStoreWriter implements AutoCloseable {
    private final Path dir;
    private Manifest manifest;
    private final Map<String, FeatureSpec> specs = new LinkedHashMap<>();
    private final List<Features> pending = new ArrayList<>();

    private FeatureStoreWriter(Path dir, Manifest manifest) {
        this.dir = dir;
        this.manifest = manifest;
        for (FeatureSpec s : manifest.models()) {
            specs.put(s.name(), s);
        }
    }

    public static FeatureStoreWriter open(Path dir, String dataset, Dataset.Split split, int size, int shardSize,
                                          List<FeatureSpec> models) throws IOException {
        if (size < 0 || shardSize < 1 || models.isEmpty()) {
            throw new IllegalArgumentException("size >= 0, shardSize >= 1 and at least one model are required");
        }
        if (models.stream().map(FeatureSpec::name).distinct().count() != models.size()) {
            throw new IllegalArgumentException("two models share a name");
        }
        Files.createDirectories(dir);
        Manifest wanted = new Manifest(FeatureStoreFormat.FORMAT, FeatureStoreFormat.VERSION, dataset, split.name(),
                size, shardSize, List.copyOf(models), List.of());
        Manifest current = wanted;
        if (Files.exists(dir.resolve(FeatureStoreFormat.MANIFEST))) {
            Manifest existing = FeatureStoreFormat.readManifest(dir);
            if (!existing.sameStore(wanted)) {
                throw new IOException(dir + " holds a feature store of " + existing.dataset() + "/" + existing.split()
                        + " (" + existing.size() + " images, models " + existing.models() + "); refusing to mix it"
                        + " with " + dataset + "/" + split + " (" + size + " images, models " + models + ")");
            }
            current = existing;
        } else {
            FeatureStoreFormat.writeManifest(dir, wanted);
        }
        removeUnlisted(dir, current);
        return new FeatureStoreWriter(dir, current);
    }

    /** Deletes files of shards the manifest does not list (an interrupted run) and temporary files. */
    private static void removeUnlisted(Path dir, Manifest m) throws IOException {
        java.util.Set<String> listed = new java.util.HashSet<>();
        listed.add(FeatureStoreFormat.MANIFEST);
        for (Shard s : m.shards()) {
            s.files().values().forEach(parts -> parts.values().forEach(f -> listed.add(f.file())));
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                boolean ours = name.endsWith(".tmp") || m.models().stream().anyMatch(s -> name.startsWith(s.name()
                        + "-"));
                if (ours && !listed.contains(name)) {
                    Files.delete(p);
                }
            }
        }
    }

    /** The index of the next image to extract (images before it are stored). */
    public int nextIndex() {
        return manifest.complete() + pending.size();
    }

    public boolean isComplete() {
        return manifest.complete() == manifest.size();
    }

    /** Adds the next image's features; a full shard is written at once. */
    public void append(Features f) throws IOException {
        if (nextIndex() >= manifest.size()) {
            throw new IllegalStateException("the store already holds all " + manifest.size() + " images");
        }
        check(f);
        pending.add(f);
        if (pending.size() == manifest.shardSize() || nextIndex() == manifest.size()) {
            flush();
        }
    }

    private void check(Features f) {
        for (FeatureSpec s : specs.values()) {
            if (s.kind() == FeatureSpec.Kind.GLOBAL) {
                float[] v = f.global().get(s.name());
                if (v == null || v.length != s.dim()) {
                    throw new IllegalArgumentException(s.name() + ": expected a global vector of " + s.dim()
                            + " values, got " + (v == null ? "none" : v.length));
                }
                requireFinite(v, s.name());
            } else {
                Features.LocalSet l = f.local().get(s.name());
                if (l == null || l.count() > s.maxLocal() || l.rows().length != l.count() * s.dim()) {
                    throw new IllegalArgumentException(s.name() + ": expected at most " + s.maxLocal() + " local rows"
                            + " of " + s.dim() + " values");
                }
                requireFinite(l.rows(), s.name());
                requireFinite(l.positions(), s.name());
            }
        }
        for (String name : f.global().keySet()) {
            if (!specs.containsKey(name)) {
                throw new IllegalArgumentException("unknown model " + name);
            }
        }
    }

    private static void requireFinite(float[] v, String model) {
        for (float x : v) {
            if (!Float.isFinite(x) || Math.abs(x) > 65504f) {
                throw new IllegalArgumentException(model + ": value " + x + " is not a finite fp16 number");
            }
        }
    }

    private void flush() throws IOException {
        if (pending.isEmpty()) {
            return;
        }
        int shard = manifest.shards().size();
        int first = manifest.complete();
        Map<String, Map<String, FileEntry>> files = new LinkedHashMap<>();
        for (FeatureSpec s : specs.values()) {
            Map<String, FileEntry> parts = new LinkedHashMap<>();
            if (s.kind() == FeatureSpec.Kind.GLOBAL) {
                ByteBuffer b = buffer(pending.size() * s.dim() * 2L);
                for (Features f : pending) {
                    putHalves(b, f.global().get(s.name()));
                }
                parts.put("vectors", write(s.name(), shard, "f16", b));
            } else {
                long total = pending.stream().mapToLong(f -> f.local().get(s.name()).count()).sum();
                ByteBuffer offsets = buffer((pending.size() + 1) * 8L);
                ByteBuffer rows = buffer(total * s.dim() * 2);
                ByteBuffer pos = buffer(total * 3 * 4);
                long at = 0;
                offsets.putLong(0);
                for (Features f : pending) {
                    Features.LocalSet l = f.local().get(s.name());
                    putHalves(rows, l.rows());
                    for (float p : l.positions()) {
                        pos.putFloat(p);
                    }
                    at += l.count();
                    offsets.putLong(at);
                }
                parts.put("offsets", write(s.name(), shard, "offsets.i64", offsets));
                parts.put("rows", write(s.name(), shard, "rows.f16", rows));
                parts.put("positions", write(s.name(), shard, "pos.f32", pos));
            }
            files.put(s.name(), parts);
        }
        List<Shard> shards = new ArrayList<>(manifest.shards());
        shards.add(new Shard(shard, first, pending.size(), files));
        manifest = new Manifest(manifest.format(), manifest.version(), manifest.dataset(), manifest.split(),
                manifest.size(), manifest.shardSize(), manifest.models(), List.copyOf(shards));
        // Listed only now, after every file of the shard is durable under its final name.
        FeatureStoreFormat.writeManifest(dir, manifest);
        pending.clear();
    }

    private static ByteBuffer buffer(long bytes) {
        return ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void putHalves(ByteBuffer b, float[] v) {
        for (float x : v) {
            b.putShort(Float.floatToFloat16(x));
        }
    }

    private FileEntry write(String model, int shard, String part, ByteBuffer b) throws IOException {
        String name = FeatureStoreFormat.shardFile(model, shard, part);
        byte[] data = b.array();
        FeatureStoreFormat.writeAtomically(dir, name, data);
        return new FileEntry(name, data.length, FeatureStoreFormat.crc32c(data));
    }

    /** Writes a last, partial shard only when the dataset ends there; otherwise it is redone on resume. */
    @Override
    public void close() throws IOException {
        pending.clear();
    }
}
