package org.affengine.index;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

/** Fresh random data per run (the seed is printed on failure) and a naive double-precision reference search. */
final class TestData {
    final long seed = new Random().nextLong();
    final Random random = new Random(seed);

    float[] gaussian(int n, int d) {
        float[] v = new float[n * d];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    long[] ids(int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (long) i * 7919 - 1_000_000_007L;
        }
        return ids;
    }

    /** Reference ranking: ids of the best rows first, ties by smaller id; scores in the index's convention. */
    static SearchResult reference(float[] q, float[] x, long[] ids, int d, Metric metric, int k) {
        int n = ids.length;
        double[] s = new double[n];
        for (int j = 0; j < n; j++) {
            double acc = 0;
            for (int i = 0; i < d; i++) {
                double a = q[i];
                double b = x[j * d + i];
                acc += metric == Metric.L2 ? (a - b) * (a - b) : a * b;
            }
            s[j] = metric == Metric.L2 ? -acc : acc;
        }
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(j -> -s[j]).thenComparingLong(j -> ids[j]));
        long[] outIds = new long[k];
        float[] outScores = new float[k];
        for (int r = 0; r < k; r++) {
            outIds[r] = ids[order[r]];
            outScores[r] = (float) (metric == Metric.L2 ? -s[order[r]] : s[order[r]]);
        }
        return new SearchResult(outIds, outScores);
    }

    static float[] roundToHalf(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = Float.float16ToFloat(Float.floatToFloat16(x[i]));
        }
        return out;
    }

    static float[] row(float[] x, int d, int r) {
        return Arrays.copyOfRange(x, r * d, (r + 1) * d);
    }
}
