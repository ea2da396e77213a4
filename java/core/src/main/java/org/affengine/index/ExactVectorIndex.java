package org.affengine.index;

/**
 * An exact index that also gives back what it stores: {@link ExactIndex} on the CPU and {@link CudaIndex} in GPU
 * memory. {@link VectorIndexes#exact} picks one for the machine.
 */
public sealed interface ExactVectorIndex extends VectorIndex permits ExactIndex, CudaIndex {
    /** The stored vector of an id (fp16 rows come back widened); an unknown id throws IllegalArgumentException. */
    float[] reconstruct(long id);

    /** Where the rows live: "cpu" or "cuda". */
    String backend();
}
