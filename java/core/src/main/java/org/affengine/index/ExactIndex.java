package org.affengine.index;

import java.nio.file.Path;
import java.util.Objects;
import org.affengine.natives.AffNative;
import org.affengine.natives.NativeErrors;

/**
 * Exact (brute-force) search over fp32 or fp16 rows, multi-threaded, with the SIMD path (AVX-512 / AVX2 / scalar)
 * chosen at run time and BLAS for large query batches. Results are exact; ties go to the smaller id.
 */
public final class ExactIndex extends NativeIndex implements ExactVectorIndex {
    private final AffNative.ExactIndexHandle handle;
    private final Storage storage;

    public ExactIndex(int dimension, Metric metric, Storage storage) {
        this(NativeErrors.arguments(() -> new AffNative.ExactIndexHandle(dimension,
                Objects.requireNonNull(metric).code, Objects.requireNonNull(storage).code)));
    }

    public ExactIndex(int dimension, Metric metric) {
        this(dimension, metric, Storage.FLOAT32);
    }

    private ExactIndex(AffNative.ExactIndexHandle handle) {
        super(handle.dim(), Metric.ofCode(handle.metric()));
        this.handle = handle;
        this.storage = Storage.ofCode(handle.storage());
    }

    /** Reads an index written by {@link #save}; a missing, corrupted, truncated or foreign file throws UncheckedIOException. */
    public static ExactIndex open(Path path) {
        String file = path.toAbsolutePath().toString();
        return new ExactIndex(NativeErrors.files(() -> new AffNative.ExactIndexHandle(file)));
    }

    public Storage storage() {
        return storage;
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
        guardedRun(() -> handle.add(ids.length, vectors, ids));
    }

    @Override
    public void remove(long... ids) {
        Objects.requireNonNull(ids, "ids");
        guardedRun(() -> handle.remove(ids.length, ids));
    }

    @Override
    public String backend() {
        return "cpu";
    }

    /** The stored vector of an id (fp16 rows come back widened). */
    @Override
    public float[] reconstruct(long id) {
        float[] out = new float[dimension];
        guardedRun(() -> handle.reconstruct(id, out));
        return out;
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
        return "ExactIndex[d=" + dimension + ", " + metric + ", " + storage + "]";
    }
}
