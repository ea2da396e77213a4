package org.affengine.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PcaWhiteningTest {
    /**
     * n rows of a Gaussian with variances spread over three orders of magnitude, mixed by a fixed random matrix
     * (the same for every call), and an offset mean.
     */
    static float[] anisotropic(Random random, int n, int d) {
        Random mixing = new Random(d);
        double[][] rotation = new double[d][d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                rotation[i][j] = mixing.nextGaussian();
            }
        }
        float[] out = new float[n * d];
        for (int r = 0; r < n; r++) {
            double[] z = new double[d];
            for (int i = 0; i < d; i++) {
                z[i] = random.nextGaussian() * Math.pow(10, -3.0 * i / d);
            }
            for (int j = 0; j < d; j++) {
                double v = 5;
                for (int i = 0; i < d; i++) {
                    v += rotation[i][j] * z[i];
                }
                out[r * d + j] = (float) v;
            }
        }
        return out;
    }

    @Test
    void whitenedRowsAreUnitAndIsotropic() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int n = 20000;
        int d = 12;
        int out = 8;
        float[] x = anisotropic(random, n, d);
        PcaWhitening w = PcaWhitening.fit(x, d, out, 0);
        assertEquals(d, w.inDim());
        assertEquals(out, w.outDim());
        // Fresh rows from the same distribution: whitened then L2-normalised, their second moment is I / out.
        float[] y = w.apply(anisotropic(new Random(seed + 1), 4000, d));
        double[][] m = new double[out][out];
        for (int r = 0; r < y.length / out; r++) {
            double norm = 0;
            for (int i = 0; i < out; i++) {
                norm += y[r * out + i] * y[r * out + i];
                for (int j = 0; j < out; j++) {
                    m[i][j] += y[r * out + i] * y[r * out + j];
                }
            }
            assertEquals(1, norm, 1e-4, "row " + r + " is not unit length, seed " + seed);
        }
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < out; j++) {
                double v = m[i][j] / (y.length / out);
                assertEquals(i == j ? 1.0 / out : 0, v, 0.25 / out, "second moment [" + i + "][" + j + "], seed "
                        + seed);
            }
        }
    }

    @Test
    void shrinkageKeepsWeakDirectionsSmall() {
        Random random = new Random(7);
        float[] x = anisotropic(random, 5000, 10);
        float[] plain = PcaWhitening.fit(x, 10, 10, 0).apply(x);
        float[] shrunk = PcaWhitening.fit(x, 10, 10, 0.5).apply(x);
        double plainLast = 0;
        double shrunkLast = 0;
        for (int r = 0; r < 5000; r++) {
            plainLast += plain[r * 10 + 9] * plain[r * 10 + 9];
            shrunkLast += shrunk[r * 10 + 9] * shrunk[r * 10 + 9];
        }
        assertTrue(shrunkLast < 0.1 * plainLast, "the weakest direction keeps " + shrunkLast + " vs " + plainLast);
    }

    @Test
    void badInputIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> PcaWhitening.fit(new float[10], 3, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> PcaWhitening.fit(new float[12], 3, 4, 0));
        assertThrows(IllegalArgumentException.class, () -> PcaWhitening.fit(new float[3], 3, 2, 0));
        PcaWhitening w = PcaWhitening.fit(anisotropic(new Random(1), 50, 4), 4, 2, 0);
        assertThrows(IllegalArgumentException.class, () -> w.apply(new float[5]));
    }
}
