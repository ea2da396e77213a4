package org.affengine.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The revisited Oxford/Paris protocol, computed exactly as the reference evaluation code does:
 * <ul>
 *   <li>Easy: positives = easy, junk = junk + hard. Medium: positives = easy + hard, junk = junk. Hard: positives =
 *       hard, junk = junk + easy.</li>
 *   <li>Junk images are taken out of the ranking: each positive moves up by the number of junk images ranked
 *       before it.</li>
 *   <li>AP is the trapezoid sum over the precision-recall curve in recall steps of 1 / (number of positives);
 *       queries without positives are skipped (they count in neither the sum nor the mean).</li>
 *   <li>mP@k is the precision at min(k, position of the last positive retrieved).</li>
 * </ul>
 * A ranking may be truncated (positives it lacks count as never retrieved). Arithmetic follows the reference
 * operation by operation in double precision, so results agree to the last digit.
 */
public final class RevisitopEval {
    public static final int[] KAPPAS = {1, 5, 10};

    private RevisitopEval() {}

    /** mAP, mP@k for k in {@link #KAPPAS}, and each query's AP (NaN where it has no positives). */
    public record Scores(double map, double[] mpk, double[] aps) {
        public double mp(int k) {
            for (int i = 0; i < KAPPAS.length; i++) {
                if (KAPPAS[i] == k) {
                    return mpk[i];
                }
            }
            throw new IllegalArgumentException("mP@" + k + " is not computed");
        }
    }

    public record Result(Scores easy, Scores medium, Scores hard) {}

    /** Scores rankings: {@code ranks[q]} lists gallery indices, best first, for query q. */
    public static Result evaluate(int[][] ranks, RevisitopGround gnd) {
        int nq = gnd.queries().size();
        if (ranks.length != nq) {
            throw new IllegalArgumentException(ranks.length + " rankings for " + nq + " queries");
        }
        List<int[]> easyOk = new ArrayList<>();
        List<int[]> easyJunk = new ArrayList<>();
        List<int[]> mediumOk = new ArrayList<>();
        List<int[]> mediumJunk = new ArrayList<>();
        List<int[]> hardOk = new ArrayList<>();
        List<int[]> hardJunk = new ArrayList<>();
        for (RevisitopGround.Query q : gnd.queries()) {
            easyOk.add(q.easy());
            easyJunk.add(concat(q.junk(), q.hard()));
            mediumOk.add(concat(q.easy(), q.hard()));
            mediumJunk.add(q.junk());
            hardOk.add(q.hard());
            hardJunk.add(concat(q.junk(), q.easy()));
        }
        return new Result(computeMap(ranks, easyOk, easyJunk, KAPPAS), computeMap(ranks, mediumOk, mediumJunk, KAPPAS),
                computeMap(ranks, hardOk, hardJunk, KAPPAS));
    }

    /** The reference compute_map: positives and junk per query, precision at each of kappas. */
    public static Scores computeMap(int[][] ranks, List<int[]> ok, List<int[]> junk, int[] kappas) {
        int nq = ranks.length;
        double map = 0.;
        double[] aps = new double[nq];
        double[] pr = new double[kappas.length];
        int nempty = 0;
        for (int i = 0; i < nq; i++) {
            int[] qgnd = ok.get(i);
            if (qgnd.length == 0) {
                aps[i] = Double.NaN;
                nempty++;
                continue;
            }
            int[] pos = positionsOf(ranks[i], qgnd);
            int[] junkPos = positionsOf(ranks[i], junk.get(i));
            // Move each positive up by the number of junk images ranked before it.
            int k = 0;
            int ij = 0;
            for (int ip = 0; ip < pos.length; ip++) {
                while (ij < junkPos.length && pos[ip] > junkPos[ij]) {
                    k++;
                    ij++;
                }
                pos[ip] = pos[ip] - k;
            }
            double ap = computeAp(pos, qgnd.length);
            map = map + ap;
            aps[i] = ap;
            int last = 0;
            for (int p : pos) {
                last = Math.max(last, p + 1);  // 1-based position of the last positive
            }
            for (int j = 0; j < kappas.length; j++) {
                int kq = pos.length == 0 ? kappas[j] : Math.min(last, kappas[j]);
                int within = 0;
                for (int p : pos) {
                    if (p + 1 <= kq) {
                        within++;
                    }
                }
                pr[j] = pr[j] + (double) within / kq;
            }
        }
        int counted = nq - nempty;
        double[] mpk = new double[kappas.length];
        for (int j = 0; j < kappas.length; j++) {
            mpk[j] = counted == 0 ? Double.NaN : pr[j] / counted;
        }
        return new Scores(counted == 0 ? Double.NaN : map / counted, mpk, aps);
    }

    /** The reference compute_ap: trapezoids of the precision-recall curve, positions 0-based after junk removal. */
    static double computeAp(int[] ranks, int nres) {
        double ap = 0;
        double recallStep = 1. / nres;
        for (int j = 0; j < ranks.length; j++) {
            int rank = ranks[j];
            double precision0 = rank == 0 ? 1. : (double) j / rank;
            double precision1 = (double) (j + 1) / (rank + 1);
            ap += (precision0 + precision1) * recallStep / 2.;
        }
        return ap;
    }

    /** Sorted positions in the ranking whose entry belongs to the set (every occurrence counts, as np.in1d). */
    private static int[] positionsOf(int[] ranking, int[] set) {
        if (set.length == 0) {
            return new int[0];
        }
        int[] sorted = set.clone();
        Arrays.sort(sorted);
        int[] out = new int[ranking.length];
        int n = 0;
        for (int p = 0; p < ranking.length; p++) {
            if (Arrays.binarySearch(sorted, ranking[p]) >= 0) {
                out[n++] = p;
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
