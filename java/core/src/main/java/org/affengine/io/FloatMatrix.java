package org.affengine.io;

/** Row-major float vectors: {@code rows} vectors of {@code dim} floats in {@code data}. */
public record FloatMatrix(int rows, int dim, float[] data) {
    public FloatMatrix {
        if (rows < 0 || dim < 0 || (long) rows * dim != data.length) {
            throw new IllegalArgumentException("matrix " + rows + " x " + dim + " does not match " + data.length
                    + " values");
        }
    }

    public float[] row(int i) {
        float[] out = new float[dim];
        System.arraycopy(data, i * dim, out, 0, dim);
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FloatMatrix m && rows == m.rows && dim == m.dim && java.util.Arrays.equals(data, m.data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * rows + dim) + java.util.Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "FloatMatrix[" + rows + " x " + dim + "]";
    }
}
