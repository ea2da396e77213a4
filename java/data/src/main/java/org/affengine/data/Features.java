package org.affengine.data;

import java.util.Map;

/**
 * The features of one image: per global model a vector, per local model a set of descriptors. A local set holds
 * {@code count} rows of {@code dim} values and, per row, x, y (in input pixels) and scale.
 */
public record Features(Map<String, float[]> global, Map<String, LocalSet> local) {
    public record LocalSet(int count, float[] rows, float[] positions) {
        public LocalSet {
            if (count < 0 || positions.length != 3 * count || (count > 0 && rows.length % count != 0)) {
                throw new IllegalArgumentException("local set of " + count + " rows with " + rows.length
                        + " values and " + positions.length + " position values");
            }
        }
    }
}
