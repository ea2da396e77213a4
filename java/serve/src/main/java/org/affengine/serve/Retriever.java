package org.affengine.serve;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.affengine.data.ImageCodec;
import org.affengine.data.RawImage;
import org.affengine.index.Backend;
import org.affengine.index.ExactVectorIndex;
import org.affengine.index.VectorIndexes;
import org.affengine.index.Metric;
import org.affengine.index.SearchResult;
import org.affengine.train.AffModel;

/**
 * The engine in-process: an AFF model and a durable gallery behind an exact inner-product index. Gallery images go
 * through the gallery models and the mixer; query images through the lightweight query model alone, or a client
 * sends the query vector it computed itself. Thread-safe: searches run concurrently, changes one at a time, and a
 * change is in the write-ahead log (fsynced) before it is visible or acknowledged; searches wait only while a change
 * is applied in memory, never for the disk.
 */
public final class Retriever implements AutoCloseable {
    /** One result: the gallery item's external id, its inner product with the query, its metadata. */
    public record Hit(String id, float score, Map<String, String> metadata) {}

    public static final int MAX_K = 1000;
    public static final int THUMBNAIL_SIDE = 96;
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final int MAX_METADATA = 32;
    private static final int MAX_METADATA_CHARS = 512;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AffModel model;
    private final GalleryLog log;
    private final ExactVectorIndex index;
    /** Id and key to entry; entries in memory carry no vector (it is in the index). */
    private final Map<String, GalleryLog.Entry> byId = new HashMap<>();
    /** In key order, which is insertion order: samples and snapshots read it without sorting. */
    private final java.util.TreeMap<Long, GalleryLog.Entry> byKey = new java.util.TreeMap<>();
    /** Searches share it; applying a change to memory takes it exclusively (microseconds). */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** Serialises changes: log append + fsync happen under it, while searches go on. Guards nextKey. */
    private final ReentrantLock writers = new ReentrantLock();
    private long nextKey;

    private Retriever(AffModel model, GalleryLog log) {
        this.model = model;
        this.log = log;
        // The GPU when there is one (rows kept fp16 there, so snapshots then hold fp16-rounded vectors), else fp32.
        this.index = VectorIndexes.exact(model.dim(), Metric.INNER_PRODUCT, Backend.detect());
        GalleryLog.State s = log.takeRecovered();
        nextKey = s.nextKey();
        List<GalleryLog.Entry> entries = new ArrayList<>(s.entries().values());
        float[] vectors = new float[entries.size() * model.dim()];
        long[] keys = new long[entries.size()];
        for (int i = 0; i < entries.size(); i++) {
            GalleryLog.Entry e = entries.get(i);
            if (e.vector().length != model.dim()) {
                throw new IllegalStateException("gallery item " + e.id() + " has a " + e.vector().length
                        + "-d vector, the model gives " + model.dim() + "-d: the gallery belongs to another model");
            }
            System.arraycopy(e.vector(), 0, vectors, i * model.dim(), model.dim());
            keys[i] = e.key();
            GalleryLog.Entry kept = e.withoutVector();
            byId.put(e.id(), kept);
            byKey.put(e.key(), kept);
        }
        if (keys.length > 0) {
            index.add(vectors, keys);
        }
    }

    /** Opens the gallery stored in dataDir (replaying its log), or an empty one there. */
    public static Retriever open(AffModel model, Path dataDir) throws IOException {
        return new Retriever(model, GalleryLog.open(dataDir));
    }

    public AffModel model() {
        return model;
    }

    /** Where the gallery vectors are searched: "cpu" or "cuda". */
    public String indexBackend() {
        return index.backend();
    }

    public int dim() {
        return model.dim();
    }

    public int size() {
        lock.readLock().lock();
        try {
            return byId.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The k gallery items nearest to a query vector (a unit-length output of the query model). */
    public List<Hit> search(float[] query, int k) {
        return searchBatch(new float[][] {query}, k).get(0);
    }

    public List<List<Hit>> searchBatch(float[][] queries, int k) {
        if (queries.length == 0) {
            throw new IllegalArgumentException("no queries");
        }
        checkK(k);
        float[] flat = new float[queries.length * dim()];
        for (int i = 0; i < queries.length; i++) {
            checkVector(queries[i], "query " + i);
            System.arraycopy(queries[i], 0, flat, i * dim(), dim());
        }
        lock.readLock().lock();
        try {
            List<List<Hit>> out = new ArrayList<>();
            int kk = Math.min(k, byId.size());
            if (kk == 0) {
                for (int i = 0; i < queries.length; i++) {
                    out.add(List.of());
                }
                return out;
            }
            for (SearchResult r : index.searchBatch(flat, kk)) {
                List<Hit> hits = new ArrayList<>(r.size());
                for (int i = 0; i < r.size(); i++) {
                    GalleryLog.Entry e = byKey.get(r.ids()[i]);
                    hits.add(new Hit(e.id(), r.scores()[i], metadata(e)));
                }
                out.add(hits);
            }
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Encodes the image with the query model, then searches. */
    public List<Hit> searchImage(RawImage image, int k) {
        checkK(k);
        return search(model.queryVectors(List.of(image))[0], k);
    }

    /** Adds an image to the gallery under an id, replacing what the id held; durable when this returns. */
    public void put(String id, RawImage image, Map<String, String> metadata) throws IOException {
        checkId(id);
        String meta = checkMetadata(metadata);
        float[] vector = model.galleryVectors(List.of(image))[0];
        putEntry(id, vector, meta, thumbnailPng(image));
    }

    /** Adds a gallery vector computed elsewhere (the same model's gallery side), with an optional PNG thumbnail. */
    public void putVector(String id, float[] galleryVector, Map<String, String> metadata, byte[] thumbnailPng)
            throws IOException {
        checkId(id);
        checkVector(galleryVector, "gallery vector");
        putEntry(id, galleryVector.clone(), checkMetadata(metadata), thumbnailPng == null ? new byte[0]
                : thumbnailPng.clone());
    }

    /** An item for {@link #putVectors}. */
    public record Item(String id, float[] galleryVector, Map<String, String> metadata, byte[] thumbnailPng) {}

    /** Adds many gallery vectors with one fsync (bulk loading); all are checked before any is written. */
    public void putVectors(List<Item> items) throws IOException {
        List<float[]> vectors = new ArrayList<>();
        List<String> metas = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Item it : items) {
            checkId(it.id());
            checkVector(it.galleryVector(), "gallery vector of " + it.id());
            if (!seen.add(it.id())) {
                throw new IllegalArgumentException("id " + it.id() + " appears twice in one bulk load");
            }
            vectors.add(it.galleryVector().clone());
            metas.add(checkMetadata(it.metadata()));
        }
        writers.lock();
        try {
            List<GalleryLog.Entry> entries = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                byte[] thumb = items.get(i).thumbnailPng();
                entries.add(new GalleryLog.Entry(items.get(i).id(), nextKey + i, metas.get(i), vectors.get(i),
                        thumb == null ? new byte[0] : thumb.clone()));
            }
            log.putAll(entries);
            nextKey += entries.size();
            lock.writeLock().lock();
            try {
                float[] flat = new float[entries.size() * dim()];
                long[] keys = new long[entries.size()];
                List<Long> replaced = new ArrayList<>();
                for (int i = 0; i < entries.size(); i++) {
                    GalleryLog.Entry e = entries.get(i);
                    GalleryLog.Entry kept = e.withoutVector();
                    GalleryLog.Entry old = byId.put(e.id(), kept);
                    if (old != null) {
                        byKey.remove(old.key());
                        replaced.add(old.key());
                    }
                    byKey.put(e.key(), kept);
                    System.arraycopy(e.vector(), 0, flat, i * dim(), dim());
                    keys[i] = e.key();
                }
                if (!replaced.isEmpty()) {
                    index.remove(replaced.stream().mapToLong(Long::longValue).toArray());
                }
                if (keys.length > 0) {
                    index.add(flat, keys);
                }
            } finally {
                lock.writeLock().unlock();
            }
        } finally {
            writers.unlock();
        }
    }

    private void putEntry(String id, float[] vector, String meta, byte[] thumb) throws IOException {
        writers.lock();
        try {
            GalleryLog.Entry e = new GalleryLog.Entry(id, nextKey, meta, vector, thumb);
            log.put(e);
            nextKey++;
            lock.writeLock().lock();
            try {
                GalleryLog.Entry kept = e.withoutVector();
                GalleryLog.Entry old = byId.put(id, kept);
                if (old != null) {
                    byKey.remove(old.key());
                    index.remove(old.key());
                }
                byKey.put(e.key(), kept);
                index.add(vector, new long[] {e.key()});
            } finally {
                lock.writeLock().unlock();
            }
        } finally {
            writers.unlock();
        }
    }

    /** Removes an item; false when the id is unknown. Durable when this returns. */
    public boolean remove(String id) throws IOException {
        checkId(id);
        writers.lock();
        try {
            GalleryLog.Entry e = byId.get(id);  // only changes, all under `writers`, modify the maps
            if (e == null) {
                return false;
            }
            log.delete(id, e.key());
            lock.writeLock().lock();
            try {
                byId.remove(id);
                byKey.remove(e.key());
                index.remove(e.key());
            } finally {
                lock.writeLock().unlock();
            }
            return true;
        } finally {
            writers.unlock();
        }
    }

    public boolean contains(String id) {
        lock.readLock().lock();
        try {
            return byId.containsKey(id);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The stored PNG thumbnail; empty for unknown ids and items added without one. */
    public Optional<byte[]> thumbnail(String id) {
        lock.readLock().lock();
        try {
            GalleryLog.Entry e = byId.get(id);
            return e == null || e.thumbnail().length == 0 ? Optional.empty() : Optional.of(e.thumbnail().clone());
        } finally {
            lock.readLock().unlock();
        }
    }

    public Optional<Map<String, String>> metadata(String id) {
        lock.readLock().lock();
        try {
            GalleryLog.Entry e = byId.get(id);
            return e == null ? Optional.empty() : Optional.of(metadata(e));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Up to n ids of the gallery, in insertion order (samples for the web page). */
    public List<String> ids(int n) {
        lock.readLock().lock();
        try {
            return byKey.values().stream().limit(n).map(GalleryLog.Entry::id).toList();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Writes the whole gallery as a snapshot and starts a fresh log (bounded replay time after a restart). */
    public void snapshot() throws IOException {
        writers.lock();  // no change meanwhile; searches go on
        try {
            List<GalleryLog.Entry> live = new ArrayList<>(byKey.values());
            // Vectors live once, in the index; the snapshot reads them back (exactly from the fp32 CPU index,
            // rounded to fp16 from a GPU index).
            log.snapshot(() -> live.stream().map(e -> e.withVector(index.reconstruct(e.key()))).iterator(),
                    nextKey);
        } finally {
            writers.unlock();
        }
    }

    @Override
    public void close() throws IOException {
        writers.lock();
        lock.writeLock().lock();
        try {
            log.close();
            index.close();
        } finally {
            lock.writeLock().unlock();
            writers.unlock();
        }
    }

    private static Map<String, String> metadata(GalleryLog.Entry e) {
        try {
            return Collections.unmodifiableMap(JSON.readValue(e.metadataJson(),
                    new TypeReference<LinkedHashMap<String, String>>() {}));
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private void checkVector(float[] v, String what) {
        if (v == null || v.length != dim()) {
            throw new IllegalArgumentException(what + " must have " + dim() + " values, got "
                    + (v == null ? "none" : v.length));
        }
        for (float f : v) {
            if (!Float.isFinite(f)) {
                throw new IllegalArgumentException(what + " contains NaN or infinity");
            }
        }
    }

    private static void checkK(int k) {
        if (k < 1 || k > MAX_K) {
            throw new IllegalArgumentException("k must be in 1.." + MAX_K + ", got " + k);
        }
    }

    static void checkId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("id must be 1-128 letters, digits, '.', '_', ':' or '-'");
        }
    }

    private static String checkMetadata(Map<String, String> metadata) throws IOException {
        Map<String, String> m = metadata == null ? Map.of() : metadata;
        if (m.size() > MAX_METADATA) {
            throw new IllegalArgumentException("at most " + MAX_METADATA + " metadata entries");
        }
        for (Map.Entry<String, String> e : m.entrySet()) {
            if (e.getKey() == null || e.getValue() == null || e.getKey().isEmpty()
                    || e.getKey().length() + e.getValue().length() > MAX_METADATA_CHARS) {
                throw new IllegalArgumentException("metadata keys must be non-empty and key + value at most "
                        + MAX_METADATA_CHARS + " characters");
            }
        }
        return JSON.writeValueAsString(new LinkedHashMap<>(m));
    }

    /** A PNG of the image, scaled down to at most THUMBNAIL_SIDE pixels a side. */
    public static byte[] thumbnailPng(RawImage image) throws IOException {
        RawImage img = image;
        int side = Math.max(img.width(), img.height());
        if (side > THUMBNAIL_SIDE) {
            img = ImageCodec.resize(img, Math.max(1, img.width() * THUMBNAIL_SIDE / side),
                    Math.max(1, img.height() * THUMBNAIL_SIDE / side));
        }
        BufferedImage b = new BufferedImage(img.width(), img.height(),
                img.channels() == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        byte[] p = img.pixels();
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < img.width(); x++) {
                int i = y * img.width() + x;
                int rgb = img.channels() == 1 ? (p[i] & 0xff) * 0x010101
                        : (p[3 * i] & 0xff) << 16 | (p[3 * i + 1] & 0xff) << 8 | (p[3 * i + 2] & 0xff);
                b.setRGB(x, y, rgb);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(b, "png", out);
        return out.toByteArray();
    }
}
