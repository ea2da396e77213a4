package org.affengine.index;

import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.affengine.natives.NativeErrors;

/**
 * What both native-backed indexes share: argument checks in Java (so messages name Java arguments), a read-write
 * lock that keeps {@link #close()} from freeing native memory under a running call, and the batch plumbing.
 */
abstract sealed class NativeIndex implements VectorIndex permits ExactIndex, FaissIndex, CudaIndex {
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;
    protected final int dimension;
    protected final Metric metric;

    NativeIndex(int dimension, Metric metric) {
        this.dimension = dimension;
        this.metric = metric;
    }

    @Override
    public final int dimension() {
        return dimension;
    }

    @Override
    public final Metric metric() {
        return metric;
    }

    /**
     * Runs a native call unless the index is closed (close() waits for running calls). A native failure here means
     * bad arguments and surfaces as {@link IllegalArgumentException}.
     */
    protected final <T> T guarded(Supplier<T> call) {
        var lock = lifecycle.readLock();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("index is closed");
            }
            return NativeErrors.arguments(call);
        } finally {
            lock.unlock();
        }
    }

    protected final void guardedRun(Runnable call) {
        guarded(() -> {
            call.run();
            return null;
        });
    }

    protected final int rows(float[] vectors, String what) {
        Objects.requireNonNull(vectors, what);
        if (vectors.length % dimension != 0) {
            throw new IllegalArgumentException(what + " length " + vectors.length + " is not a multiple of the dimension "
                    + dimension);
        }
        return vectors.length / dimension;
    }

    protected final void checkAdd(float[] vectors, long[] ids) {
        Objects.requireNonNull(ids, "ids");
        int n = rows(vectors, "vectors");
        if (n != ids.length) {
            throw new IllegalArgumentException(n + " vectors of dimension " + dimension + " but " + ids.length + " ids");
        }
    }

    protected final void checkK(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be >= 1, got " + k);
        }
    }

    @Override
    public final SearchResult search(float[] query, int k) {
        if (Objects.requireNonNull(query, "query").length != dimension) {
            throw new IllegalArgumentException("query has dimension " + query.length + ", index has " + dimension);
        }
        return searchBatch(query, k)[0];
    }

    @Override
    public final SearchResult[] searchBatch(float[] queries, int k) {
        int nq = rows(queries, "queries");
        checkK(k);
        float[] scores = new float[Math.multiplyExact(nq, k)];
        long[] ids = new long[scores.length];
        guardedRun(() -> nativeSearch(nq, queries, k, scores, ids));
        SearchResult[] out = new SearchResult[nq];
        for (int i = 0; i < nq; i++) {
            long[] rowIds = new long[k];
            float[] rowScores = new float[k];
            System.arraycopy(ids, i * k, rowIds, 0, k);
            System.arraycopy(scores, i * k, rowScores, 0, k);
            out[i] = new SearchResult(rowIds, rowScores);
        }
        return out;
    }

    protected abstract void nativeSearch(int nq, float[] queries, int k, float[] scores, long[] ids);

    @Override
    public final void save(Path path) {
        String target = Objects.requireNonNull(path, "path").toAbsolutePath().toString();
        var lock = lifecycle.readLock();
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("index is closed");
            }
            NativeErrors.files(() -> {
                nativeSave(target);
                return null;
            });
        } finally {
            lock.unlock();
        }
    }

    protected abstract void nativeSave(String path);

    protected abstract void freeNative();

    @Override
    public final void close() {
        var lock = lifecycle.writeLock();
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                freeNative();
            }
        } finally {
            lock.unlock();
        }
    }
}
