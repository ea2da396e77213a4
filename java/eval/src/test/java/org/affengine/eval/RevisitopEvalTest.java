package org.affengine.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RevisitopEvalTest {
    @TempDir
    Path dir;

    static RevisitopGround ground(int gallery, RevisitopGround.Query... queries) {
        List<String> im = new ArrayList<>();
        for (int i = 0; i < gallery; i++) {
            im.add("g" + i);
        }
        List<String> q = new ArrayList<>();
        for (int i = 0; i < queries.length; i++) {
            q.add("q" + i);
        }
        return new RevisitopGround(im, q, List.of(queries));
    }

    static RevisitopGround.Query query(int[] easy, int[] hard, int[] junk) {
        return new RevisitopGround.Query(easy, hard, junk, new double[] {0, 0, 10, 10});
    }

    /** Worked by hand: junk ranked first, a hard positive after an easy one, k larger than the positives. */
    @Test
    void handComputedQuery() {
        RevisitopGround gnd = ground(6, query(new int[] {0}, new int[] {1}, new int[] {2}));
        RevisitopEval.Result r = RevisitopEval.evaluate(new int[][] {{2, 0, 3, 1, 4, 5}}, gnd);
        // Medium: positives {0, 1} at 1 and 3, junk at 0 -> positions 0 and 2; AP = 0.5 + (1/2 + 2/3) / 4.
        assertEquals(19.0 / 24.0, r.medium().map(), 1e-15);
        assertArrayEquals(new double[] {1.0, 2.0 / 3.0, 2.0 / 3.0}, r.medium().mpk(), 1e-15);
        // Easy: positive {0} at 1, junk {2, 1} at 0 and 3 -> position 0; AP = 1.
        assertEquals(1.0, r.easy().map(), 1e-15);
        assertArrayEquals(new double[] {1, 1, 1}, r.easy().mpk(), 1e-15);
        // Hard: positive {1} at 3, junk {2, 0} at 0 and 1 -> position 1; AP = (0 + 1/2) / 2.
        assertEquals(0.25, r.hard().map(), 1e-15);
        assertArrayEquals(new double[] {0, 0.5, 0.5}, r.hard().mpk(), 1e-15);
    }

    /** A ranking that lists an image twice counts both places, as the reference's np.in1d does. */
    @Test
    void repeatedEntriesCountAtEveryPosition() {
        RevisitopEval.Scores s = RevisitopEval.computeMap(new int[][] {{1, 0, 1}}, List.of(new int[] {0}),
                List.of(new int[] {}), RevisitopEval.KAPPAS);
        // Positive 0 at position 1 only: AP = (0/1 + 1/2) / 2 with one positive.
        assertEquals(0.25, s.map(), 1e-15);
        RevisitopEval.Scores twice = RevisitopEval.computeMap(new int[][] {{0, 0, 1}}, List.of(new int[] {0, 1}),
                List.of(new int[] {}), RevisitopEval.KAPPAS);
        // Positions 0, 1 and 2 all hold a positive: AP = (1 + 1)/2/2 + (1/1 + 2/2)/2/2 + (2/2 + 3/3)/2/2 = 1.5.
        assertEquals(1.5, twice.map(), 1e-15);
    }

    @Test
    void queriesWithoutPositivesAreSkippedAndMissingPositivesCountAsNeverFound() {
        RevisitopGround gnd = ground(5, query(new int[] {4}, new int[] {}, new int[] {}),
                query(new int[] {0, 1}, new int[] {}, new int[] {3}));
        // Query 1's ranking is truncated: positive 1 never appears.
        RevisitopEval.Result r = RevisitopEval.evaluate(new int[][] {{4, 0, 1, 2, 3}, {3, 0}}, gnd);
        assertTrue(Double.isNaN(r.hard().map()), "no query has hard positives");
        assertTrue(Double.isNaN(r.hard().aps()[0]));
        // Easy: query 0 AP 1; query 1: positive 0 at position 0 after junk removal, nres 2 -> AP = 0.5.
        assertEquals(1.0, r.easy().aps()[0], 1e-15);
        assertEquals(0.5, r.easy().aps()[1], 1e-15);
        assertEquals(0.75, r.easy().map(), 1e-15);
        assertEquals(1.0, r.easy().mp(1), 1e-15);
        assertEquals(1.0, r.easy().mp(10), 1e-15);
    }

    /**
     * Against an independent formulation on fresh random data: drop the junk from the ranking, then integrate the
     * precision-recall curve by trapezoids at each positive.
     */
    @Test
    void agreesWithAnIndependentFormulationOnRandomRankings() {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        for (int trial = 0; trial < 200; trial++) {
            int n = 5 + random.nextInt(60);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                order.add(i);
            }
            java.util.Collections.shuffle(order, random);
            int[] ranking = order.subList(0, n - random.nextInt(3)).stream().mapToInt(Integer::intValue).toArray();
            Set<Integer> ok = new HashSet<>();
            Set<Integer> junk = new HashSet<>();
            for (int i = 0; i < n; i++) {
                int r = random.nextInt(6);
                if (r == 0) {
                    ok.add(i);
                } else if (r == 1) {
                    junk.add(i);
                }
            }
            if (ok.isEmpty()) {
                ok.add(random.nextInt(n));
                junk.removeAll(ok);
            }
            int[] okArr = ok.stream().mapToInt(Integer::intValue).toArray();
            int[] junkArr = junk.stream().mapToInt(Integer::intValue).toArray();
            RevisitopEval.Scores s = RevisitopEval.computeMap(new int[][] {ranking}, List.of(okArr), List.of(junkArr),
                    RevisitopEval.KAPPAS);
            List<Integer> kept = new ArrayList<>();
            for (int g : ranking) {
                if (!junk.contains(g)) {
                    kept.add(g);
                }
            }
            double ap = 0;
            int found = 0;
            for (int i = 0; i < kept.size(); i++) {
                if (ok.contains(kept.get(i))) {
                    double before = i == 0 ? 1.0 : (double) found / i;
                    found++;
                    double after = (double) found / (i + 1);
                    ap += (before + after) / 2 / ok.size();
                }
            }
            assertEquals(ap, s.map(), 1e-12, "seed " + seed + " trial " + trial);
        }
    }

    @Test
    void groundTruthRoundTripsThroughPickleAndJson() throws Exception {
        RevisitopGround gnd = ground(4, query(new int[] {0, 3}, new int[] {1}, new int[] {2}),
                new RevisitopGround.Query(new int[] {}, new int[] {2}, new int[] {}, null));
        for (String name : new String[] {"gnd.pkl", "gnd.json"}) {
            Path file = dir.resolve(name);
            gnd.write(file);
            RevisitopGround back = RevisitopGround.read(file);
            assertEquals(gnd.imlist(), back.imlist());
            assertEquals(gnd.qimlist(), back.qimlist());
            assertArrayEquals(new int[] {0, 3}, back.queries().get(0).easy());
            assertArrayEquals(new double[] {0, 0, 10, 10}, back.queries().get(0).bbx());
            assertEquals(null, back.queries().get(1).bbx());
            int[][] perfect = {{0, 3, 1, 2}, {2, 0, 1, 3}};
            assertEquals(1.0, RevisitopEval.evaluate(perfect, back).medium().map(), 1e-15);
        }
    }

    @Test
    void malformedGroundTruthIsRefused() throws Exception {
        Path file = dir.resolve("bad.json");
        Files.writeString(file, "{\"imlist\": [\"a\"], \"qimlist\": [\"q\"], \"gnd\": [{\"easy\": [5], \"hard\": [],"
                + " \"junk\": []}]}");
        assertTrue(assertThrows(java.io.IOException.class, () -> RevisitopGround.read(file)).getMessage()
                .contains("outside"));
        Files.writeString(file, "{\"imlist\": [\"a\"], \"qimlist\": [\"q\"], \"gnd\": [{\"ok\": [0], \"junk\": []}]}");
        assertTrue(assertThrows(java.io.IOException.class, () -> RevisitopGround.read(file)).getMessage()
                .contains("original"));
        Files.writeString(file, "[1, 2]");
        assertThrows(java.io.IOException.class, () -> RevisitopGround.read(file));
        Path pkl = dir.resolve("bad.pkl");
        Files.write(pkl, new byte[] {(byte) 0x80, 2, 'c'});
        assertThrows(java.io.IOException.class, () -> RevisitopGround.read(pkl));
        assertThrows(IllegalArgumentException.class,
                () -> RevisitopEval.evaluate(new int[][] {}, ground(1, query(new int[] {0}, new int[] {}, new int[] {}))));
    }
}
