package org.affengine.bench;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.affengine.index.ExactIndex;
import org.affengine.index.Metric;
import org.affengine.index.SearchResult;

/**
 * Single-query latency of {@link ExactIndex#search} through the Java API, for the same index shape and the same
 * timing method (median of a >= 2 s run after a warm-up) as {@code aff_bench --latency}; the difference between the
 * two is the cost of crossing JNI. Prints one JSON line.
 *
 * <p>Usage: JniLatency [n] [d] [k]
 */
public final class JniLatency {
    private JniLatency() {}

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int d = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int k = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        Random random = new Random(1);
        float[] x = new float[n * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        float[][] queries = new float[64][d];
        for (float[] q : queries) {
            for (int i = 0; i < d; i++) {
                q[i] = (float) random.nextGaussian();
            }
        }
        long[] ids = new long[n];
        Arrays.setAll(ids, i -> i);
        try (ExactIndex index = new ExactIndex(d, Metric.INNER_PRODUCT)) {
            index.add(x, ids);
            long sink = 0;
            // Warm-up: JIT compilation of the call path.
            for (int i = 0; i < 2000; i++) {
                sink += index.search(queries[i % 64], k).ids()[0];
            }
            double[] samples = new double[200_000];
            int count = 0;
            long start = System.nanoTime();
            while (count < samples.length && (count < 3 || System.nanoTime() - start < 2_000_000_000L)) {
                long a = System.nanoTime();
                SearchResult r = index.search(queries[count % 64], k);
                samples[count++] = (System.nanoTime() - a) / 1e3;
                sink += r.ids()[0];
            }
            Arrays.sort(samples, 0, count);
            System.out.printf(Locale.ROOT, "{\"n\": %d, \"d\": %d, \"k\": %d, \"java_single_query_us\": %.3f, "
                    + "\"calls\": %d, \"sink\": %d}%n", n, d, k, samples[count / 2], count, sink % 7);
        }
    }
}
