package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.linalg_eigh;

import java.nio.DoubleBuffer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * PCA whitening learned from a sample of descriptors, as retrieval uses it for global descriptors: centre, rotate
 * onto the top principal directions, divide each by the square root of its variance (plus a shrinkage share of the
 * mean variance, so nearly empty directions are not blown up), L2-normalise. Fitted in double precision.
 */
public final class PcaWhitening {
    private final int inDim;
    private final int outDim;
    private final float[] mean;
    private final float[] projection;  // [outDim x inDim], row-major, scaled

    private PcaWhitening(int inDim, int outDim, float[] mean, float[] projection) {
        this.inDim = inDim;
        this.outDim = outDim;
        this.mean = mean;
        this.projection = projection;
    }

    /**
     * Fits on n rows of width inDim (row-major), keeping outDim directions; shrinkage is the share of the mean
     * kept variance added to every variance before the division (0: plain whitening).
     */
    public static PcaWhitening fit(float[] rows, int inDim, int outDim, double shrinkage) {
        if (inDim < 1 || rows.length % inDim != 0 || outDim < 1 || outDim > inDim || shrinkage < 0) {
            throw new IllegalArgumentException("need rows of width " + inDim + " and 1 <= outDim <= inDim");
        }
        int n = rows.length / inDim;
        if (n < 2) {
            throw new IllegalArgumentException("need at least two rows to fit a whitening, got " + n);
        }
        double[] mu = new double[inDim];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < inDim; j++) {
                mu[j] += rows[i * inDim + j];
            }
        }
        for (int j = 0; j < inDim; j++) {
            mu[j] /= n;
        }
        double[] centred = new double[rows.length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < inDim; j++) {
                centred[i * inDim + j] = rows[i * inDim + j] - mu[j];
            }
        }
        try (PointerScope scope = new PointerScope()) {
            Tensor x = Tensor.create(centred, n, inDim);
            Tensor cov = x.t().matmul(x).div(new org.bytedeco.pytorch.Scalar((double) (n - 1)));
            T_TensorTensor_T eig = linalg_eigh(cov);  // ascending eigenvalues, eigenvectors in columns
            double[] values = new double[inDim];
            double[] vectors = new double[inDim * inDim];
            ((DoubleBuffer) eig.get0().to(ScalarType.Double).contiguous().createBuffer()).get(values);
            ((DoubleBuffer) eig.get1().to(ScalarType.Double).contiguous().createBuffer()).get(vectors);
            double kept = 0;
            for (int r = 0; r < outDim; r++) {
                kept += Math.max(values[inDim - 1 - r], 0);
            }
            double floor = shrinkage * kept / outDim + 1e-12;
            float[] projection = new float[outDim * inDim];
            for (int r = 0; r < outDim; r++) {
                int col = inDim - 1 - r;
                double scale = 1 / Math.sqrt(Math.max(values[col], 0) + floor);
                for (int j = 0; j < inDim; j++) {
                    projection[r * inDim + j] = (float) (vectors[j * inDim + col] * scale);
                }
            }
            float[] mean = new float[inDim];
            for (int j = 0; j < inDim; j++) {
                mean[j] = (float) mu[j];
            }
            return new PcaWhitening(inDim, outDim, mean, projection);
        }
    }

    public int inDim() {
        return inDim;
    }

    public int outDim() {
        return outDim;
    }

    /** Whitens n rows (row-major, width inDim) into unit-length rows of width outDim. */
    public float[] apply(float[] rows) {
        if (rows.length % inDim != 0) {
            throw new IllegalArgumentException(rows.length + " values are not rows of width " + inDim);
        }
        int n = rows.length / inDim;
        float[] out = new float[n * outDim];
        double[] centred = new double[inDim];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < inDim; j++) {
                centred[j] = rows[i * inDim + j] - mean[j];
            }
            double norm = 0;
            for (int r = 0; r < outDim; r++) {
                double v = 0;
                for (int j = 0; j < inDim; j++) {
                    v += projection[r * inDim + j] * centred[j];
                }
                out[i * outDim + r] = (float) v;
                norm += v * v;
            }
            float inv = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
            for (int r = 0; r < outDim; r++) {
                out[i * outDim + r] *= inv;
            }
        }
        return out;
    }
}
