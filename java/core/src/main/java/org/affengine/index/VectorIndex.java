package org.affengine.index;

import java.nio.file.Path;

/**
 * A searchable set of vectors with caller-given int64 ids. Implementations: {@link ExactIndex} (brute force, exact),
 * {@link CudaIndex} (brute force on a GPU, fp16 rows) and {@link FaissIndex} (approximate, FAISS). Open a saved index of either kind with {@link VectorIndexes#open}.
 *
 * <p>Thread-safe: searches run concurrently; add and remove wait for running searches. The index owns native memory
 * that {@link #close()} frees; using it afterwards throws {@link IllegalStateException}.
 *
 * <p>Bad input (wrong lengths, NaN/Inf, duplicate or unknown ids, k out of range) throws
 * {@link IllegalArgumentException} and leaves the index unchanged.
 */
public interface VectorIndex extends AutoCloseable {
    int dimension();

    Metric metric();

    /** Number of vectors currently searchable. */
    long size();

    boolean contains(long id);

    /** Adds {@code ids.length} vectors given row-major in {@code vectors} (length ids.length * dimension()). */
    void add(float[] vectors, long[] ids);

    /** Removes the given ids; all must be present. */
    void remove(long... ids);

    /** The k best matches of one query (length dimension()); 1 <= k <= size(). */
    SearchResult search(float[] query, int k);

    /** The k best matches of each of queries.length / dimension() queries given row-major. */
    SearchResult[] searchBatch(float[] queries, int k);

    /** Writes the index to a file atomically (temporary file + rename), with a checksum. */
    void save(Path path);

    @Override
    void close();
}
