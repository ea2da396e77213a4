package org.affengine.eval;

import java.util.Objects;
import org.affengine.index.ExactIndex;
import org.affengine.index.Metric;
import org.affengine.index.SearchResult;

/**
 * Class-level retrieval on a labelled set: every query against a gallery, an item relevant when its label equals
 * the query's. When queries and gallery are the same images (symmetric, or asymmetric with one vector per image on
 * each side), query i does not retrieve gallery item i ("each image against the rest").
 * <ul>
 *   <li>mAP@all: mean over queries of AP = (1/R) * sum of precision@i at every relevant position i of the full
 *       ranking, R = relevant items in the gallery;</li>
 *   <li>mAP@R: (1/R) * sum over i <= R of precision@i at relevant positions (Musgrave et al.);</li>
 *   <li>mP@k: precision of the first k.</li>
 * </ul>
 * Queries with no relevant item are skipped.
 */
public final class ClassEval {
    private ClassEval() {}

    public record Result(double mapAll, double mapAtR, double mpAt1, double mpAt10, int queries) {}

    /**
     * Scores rankings (gallery indices, best first; they may be truncated). With {@code sameImages}, gallery item q is
     * query q itself, left out of its ranking and of its relevant count.
     */
    public static Result evaluate(int[][] rankings, int[] queryLabels, int[] galleryLabels, boolean sameImages) {
        if (rankings.length != queryLabels.length) {
            throw new IllegalArgumentException(rankings.length + " rankings for " + queryLabels.length + " queries");
        }
        int[] counts = countLabels(galleryLabels);
        double sumAll = 0;
        double sumR = 0;
        double sumP1 = 0;
        double sumP10 = 0;
        int counted = 0;
        for (int q = 0; q < rankings.length; q++) {
            int label = queryLabels[q];
            int relevant = label < counts.length ? counts[label] - (sameImages ? 1 : 0) : 0;
            Accumulator acc = new Accumulator(relevant);
            if (acc.relevant == 0) {
                continue;
            }
            for (int i = 0; i < rankings[q].length; i++) {
                acc.next(galleryLabels[rankings[q][i]] == queryLabels[q]);
            }
            sumAll += acc.ap / acc.relevant;
            sumR += acc.apAtR / acc.relevant;
            sumP1 += acc.hitsAt1;
            sumP10 += acc.hitsAt10 / 10.0;
            counted++;
        }
        if (counted == 0) {
            return new Result(Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);
        }
        return new Result(sumAll / counted, sumR / counted, sumP1 / counted, sumP10 / counted, counted);
    }

    /**
     * Ranks a gallery for every query by exact search and scores the rankings. With {@code sameImages}, queries and
     * gallery describe the same images row for row, and row i is left out of query i's ranking.
     */
    public static Result evaluate(float[] queries, int[] queryLabels, float[] gallery, int[] galleryLabels, int dim,
                                  Metric metric, boolean sameImages) {
        Objects.requireNonNull(metric);
        int ng = galleryLabels.length;
        if (gallery.length != (long) ng * dim || queries.length != (long) queryLabels.length * dim) {
            throw new IllegalArgumentException("vector counts do not match the labels");
        }
        if (sameImages && queryLabels.length != ng) {
            throw new IllegalArgumentException("sameImages needs as many queries as gallery items");
        }
        int[][] rankings = new int[queryLabels.length][];
        try (ExactIndex index = new ExactIndex(dim, metric)) {
            long[] ids = new long[ng];
            for (int i = 0; i < ng; i++) {
                ids[i] = i;
            }
            index.add(gallery, ids);
            int batch = 256;
            for (int q0 = 0; q0 < queryLabels.length; q0 += batch) {
                int nq = Math.min(batch, queryLabels.length - q0);
                float[] chunk = new float[nq * dim];
                System.arraycopy(queries, q0 * dim, chunk, 0, chunk.length);
                SearchResult[] results = index.searchBatch(chunk, ng);
                for (int i = 0; i < nq; i++) {
                    int q = q0 + i;
                    long[] ranked = results[i].ids();
                    int[] ranking = new int[sameImages ? ng - 1 : ng];
                    int n = 0;
                    for (long id : ranked) {
                        if (!(sameImages && id == q)) {
                            ranking[n++] = (int) id;
                        }
                    }
                    rankings[q] = ranking;
                }
            }
        }
        return evaluate(rankings, queryLabels, galleryLabels, sameImages);
    }

    private static int[] countLabels(int[] labels) {
        int max = 0;
        for (int l : labels) {
            if (l < 0) {
                throw new IllegalArgumentException("negative label " + l);
            }
            max = Math.max(max, l);
        }
        int[] counts = new int[max + 1];
        for (int l : labels) {
            counts[l]++;
        }
        return counts;
    }

    private static final class Accumulator {
        final int relevant;
        int position;
        int hits;
        double ap;
        double apAtR;
        int hitsAt1;
        int hitsAt10;

        Accumulator(int relevant) {
            this.relevant = relevant;
        }

        void next(boolean hit) {
            position++;
            if (hit) {
                hits++;
                double precision = (double) hits / position;
                ap += precision;
                if (position <= relevant) {
                    apAtR += precision;
                }
                if (position <= 1) {
                    hitsAt1++;
                }
                if (position <= 10) {
                    hitsAt10++;
                }
            }
        }
    }
}
