package org.affengine.index;

import java.nio.file.Path;
import java.util.Objects;
import org.affengine.natives.AffNative;

/**
 * Exact search on a CUDA GPU: rows kept as fp16 in device memory, fp16 products summed in fp32 (tensor cores for
 * batches of five or more queries), each query's top k selected on the GPU without materialising the score matrix.
 * Results match {@link ExactIndex} over the same fp16-rounded vectors within float rounding; ties go to the smaller
 * id. Vectors must fit fp16 (|x| <= 65504); the dimension must be a multiple of 8; k is at most 1024.
 *
 * <p>{@link #save} writes an {@link ExactIndex} file (FLOAT16 storage), which {@link VectorIndexes#open} reads back
 * as a CPU index (copy it into a new CudaIndex to search it on the GPU), reading the rows in blocks of 65,536. Add,
 * remove and save exclude each other (searches run alongside).
 */
public final class CudaIndex extends NativeIndex implements ExactVectorIndex {
    private final AffNative.CudaIndexHandle handle;

    /**
     * @throws IllegalArgumentException for a dimension that is not a positive multiple of 8
     * @throws IllegalStateException when there is no CUDA device (or the native core was built without CUDA)
     */
    public CudaIndex(int dimension, Metric metric, int device) {
        this(create(dimension, Objects.requireNonNull(metric, "metric"), device));
    }

    private CudaIndex(AffNative.CudaIndexHandle handle) {
        super(handle.dim(), Metric.ofCode(handle.metric()));
        this.handle = handle;
    }

    private static AffNative.CudaIndexHandle create(int dimension, Metric metric, int device) {
        if (dimension <= 0 || dimension % 8 != 0) {
            throw new IllegalArgumentException("the GPU index needs a dimension that is a positive multiple of 8, got "
                    + dimension);
        }
        try {
            return new AffNative.CudaIndexHandle(dimension, metric.code, device);
        } catch (RuntimeException e) {
            throw new IllegalStateException("no GPU index: " + e.getMessage(), e);
        }
    }

    @Override
    public String backend() {
        return "cuda";
    }

    /** Device memory held by rows, ids, norms and the search workspace. */
    public long deviceBytes() {
        return guarded(handle::device_bytes);
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
    public synchronized void add(float[] vectors, long[] ids) {
        checkAdd(vectors, ids);
        guardedRun(() -> handle.add(ids.length, vectors, ids));
    }

    @Override
    public synchronized void remove(long... ids) {
        Objects.requireNonNull(ids, "ids");
        guardedRun(() -> handle.remove(ids.length, ids));
    }

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

    /** Copies the rows into a CPU {@link ExactIndex} (FLOAT16) and saves that; adds and removes wait meanwhile. */
    @Override
    protected synchronized void nativeSave(String path) {
        long size = handle.size();
        try (ExactIndex copy = new ExactIndex(dimension, metric, Storage.FLOAT16)) {
            final int block = 65536;
            short[] bits = new short[block * dimension];
            for (long start = 0; start < size; start += block) {
                int n = (int) Math.min(block, size - start);
                float[] rows = new float[n * dimension];
                long[] ids = new long[n];
                handle.rows_f16(start, n, bits, ids);
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = Float.float16ToFloat(bits[i]);  // exact: FLOAT16 storage rounds back to the same bits
                }
                copy.add(rows, ids);
            }
            copy.save(Path.of(path));
        }
    }

    @Override
    protected void freeNative() {
        handle.close();
    }
}
