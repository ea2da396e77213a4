package org.affengine.aggregate;

import java.util.Objects;
import org.affengine.index.Backend;
import org.affengine.natives.AffNative;
import org.affengine.natives.NativeErrors;

/**
 * Attention top-n selection of local descriptors (the DELF-style local path, aff/aggregate.h): for each image, the n
 * positions with the highest attention scores (ties: the smaller position) and their descriptors, L2-normalised.
 * Runs the CUDA kernel when a device is present (unless AFF_BACKEND=cpu), else the CPU reference; both keep the same
 * positions and agree on the rows to float rounding.
 */
public final class LocalSelection {
    /** Kept positions [batch, n] (best first) and their unit descriptors [batch, n, dim], row-major. */
    public record Selected(int batch, int n, int dim, long[] positions, float[] rows) {}

    private static final boolean GPU = Backend.detect().preferred().equals("cuda");

    private LocalSelection() {}

    /**
     * scores: [batch, positions], finite; descriptors: [batch, positions, dim] (position-major, as a conv map
     * permuted to channels last); 1 <= n <= positions.
     *
     * @throws IllegalArgumentException for sizes that do not match the arrays, n out of range, or a score that is
     *     not finite
     */
    public static Selected select(float[] scores, float[] descriptors, int batch, int positions, int dim, int n) {
        Objects.requireNonNull(scores, "scores");
        Objects.requireNonNull(descriptors, "descriptors");
        if (batch <= 0 || positions <= 0 || dim <= 0) {
            throw new IllegalArgumentException("batch, positions and dim must be positive (got " + batch + ", "
                    + positions + ", " + dim + ")");
        }
        if (n < 1 || n > positions) {
            throw new IllegalArgumentException("n must be in 1.." + positions + " (got " + n + ")");
        }
        if (scores.length != (long) batch * positions || descriptors.length != (long) batch * positions * dim) {
            throw new IllegalArgumentException(scores.length + " scores and " + descriptors.length
                    + " descriptor values are not " + batch + " images x " + positions + " positions x " + dim);
        }
        long[] kept = new long[Math.multiplyExact(batch, n)];
        float[] rows = new float[Math.multiplyExact(Math.multiplyExact(batch, n), dim)];
        NativeErrors.arguments(() -> {
            if (!GPU || !AffNative.select_local_cuda_host(scores, descriptors, batch, positions, dim, n, kept, rows)) {
                AffNative.select_local_cpu(scores, descriptors, batch, positions, dim, n, kept, rows);
            }
            return null;
        });
        return new Selected(batch, n, dim, kept, rows);
    }
}
