package org.affengine.index;

import java.nio.file.Path;
import java.util.Objects;
import org.affengine.natives.AffNative;
import org.affengine.natives.NativeErrors;

/**
 * Approximate search through FAISS: any {@code index_factory} string ("HNSW32", "IVF4096,PQ32", "Flat", ...).
 * IVF and PQ indexes must be {@link #train trained} before vectors are added. HNSW cannot delete in place: removed
 * ids are hidden from results ({@link #tombstones()}) and their memory is kept until {@link #compact()}.
 */
public final class FaissIndex extends NativeIndex {
    private final AffNative.FaissIndexHandle handle;
    private final String factory;

    public FaissIndex(int dimension, String factory, Metric metric) {
        this(NativeErrors.arguments(() -> new AffNative.FaissIndexHandle(dimension,
                Objects.requireNonNull(factory, "factory"), Objects.requireNonNull(metric).code)));
    }

    private FaissIndex(AffNative.FaissIndexHandle handle) {
        super(handle.dim(), Metric.ofCode(handle.metric()));
        this.handle = handle;
        this.factory = handle.description();
    }

    /** Reads an index written by {@link #save}; a missing, corrupted, truncated or foreign file throws UncheckedIOException. */
    public static FaissIndex open(Path path) {
        String file = path.toAbsolutePath().toString();
        return new FaissIndex(NativeErrors.files(() -> new AffNative.FaissIndexHandle(file)));
    }

    public String factory() {
        return factory;
    }

    public boolean isTrained() {
        return guarded(handle::is_trained);
    }

    /** Trains quantisers on row-major vectors; a no-op for indexes that need no training. */
    public void train(float[] vectors) {
        int n = rows(vectors, "training vectors");
        if (n == 0) {
            throw new IllegalArgumentException("training needs at least one vector");
        }
        guardedRun(() -> handle.train(n, vectors));
    }

    /** Removed ids still held inside an index that cannot delete in place (always 0 for IVF). */
    public long tombstones() {
        return guarded(handle::tombstones);
    }

    /**
     * Rebuilds an index that holds tombstones without them, freeing their memory; returns how many were dropped.
     * Vectors are read back with FAISS reconstruct (exact for HNSW's flat storage). Waits for running searches.
     */
    public long compact() {
        return guarded(handle::compact);
    }

    /** Sets a FAISS search parameter such as "efSearch" (HNSW) or "nprobe" (IVF). */
    public void setParameter(String name, double value) {
        Objects.requireNonNull(name, "name");
        guardedRun(() -> handle.set_parameter(name, value));
    }

    @Override
    public long size() {
        return guarded(handle::size);
    }

    @Override
    public boolean contains(long id) {
        return guarded(() -> handle.contains(id));
    }

    @Override
    public void add(float[] vectors, long[] ids) {
        checkAdd(vectors, ids);
        if (!isTrained()) {
            throw new IllegalStateException("FAISS index '" + factory + "' must be trained before vectors are added");
        }
        guardedRun(() -> handle.add(ids.length, vectors, ids));
    }

    @Override
    public void remove(long... ids) {
        Objects.requireNonNull(ids, "ids");
        guardedRun(() -> handle.remove(ids.length, ids));
    }

    @Override
    protected void nativeSearch(int nq, float[] queries, int k, float[] scores, long[] ids) {
        handle.search(nq, queries, k, scores, ids);
    }

    @Override
    protected void nativeSave(String path) {
        handle.save(path);
    }

    @Override
    protected void freeNative() {
        handle.close();
    }

    @Override
    public String toString() {
        return "FaissIndex[" + factory + ", d=" + dimension + ", " + metric + "]";
    }
}
