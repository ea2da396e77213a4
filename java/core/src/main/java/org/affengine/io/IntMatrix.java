package org.affengine.io;

/** Row-major int32 vectors, e.g. ground-truth or result ids in the .ivecs convention. */
public record IntMatrix(int rows, int dim, int[] data) {
    public IntMatrix {
        if (rows < 0 || dim < 0 || (long) rows * dim != data.length) {
            throw new IllegalArgumentException("matrix " + rows + " x " + dim + " does not match " + data.length
                    + " values");
        }
    }

    public int get(int row, int col) {
        return data[row * dim + col];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IntMatrix m && rows == m.rows && dim == m.dim && java.util.Arrays.equals(data, m.data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * rows + dim) + java.util.Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "IntMatrix[" + rows + " x " + dim + "]";
    }
}
