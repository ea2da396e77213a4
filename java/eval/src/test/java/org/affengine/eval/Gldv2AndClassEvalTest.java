package org.affengine.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.affengine.index.Metric;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Gldv2AndClassEvalTest {
    @TempDir
    Path dir;

    @Test
    void gldv2MapAt100ByHand() throws Exception {
        Path solution = dir.resolve("solution.csv");
        Files.writeString(solution, "id,images,Usage\nq1,a b,Public\nq2,c,Private\nq3,None,Ignored\nq4,d e f,Public\n");
        Path predictions = dir.resolve("predictions.csv");
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 150; i++) {
            many.append("x").append(i).append(' ');
        }
        Files.writeString(predictions, "id,images\nq1,x a a b\nq3,whatever\nq4," + many + "d\n");
        Gldv2Eval.Result r = Gldv2Eval.evaluate(Gldv2Eval.readSolution(solution),
                Gldv2Eval.readPredictions(predictions));
        // q1: a at 2 (1/2), duplicate a ignored, b at 4 (2/4): (0.5 + 0.5) / 2. q4: d is past the first 100: 0.
        assertEquals((0.5 + 0.0) / 2, r.publicMap(), 1e-15);
        assertEquals(0.0, r.privateMap(), 1e-15);  // q2 has no prediction
        assertEquals(2, r.publicQueries());
        Files.writeString(predictions, "id,images\nq9,a\n");
        assertThrows(IllegalArgumentException.class, () -> Gldv2Eval.evaluate(Gldv2Eval.readSolution(solution),
                Gldv2Eval.readPredictions(predictions)));
        Files.writeString(predictions, "id,images\nq1,a\nq1,b\n");
        assertThrows(java.io.IOException.class, () -> Gldv2Eval.readPredictions(predictions));
        Files.writeString(solution, "id,images\nq1,a\n");
        assertTrue(assertThrows(java.io.IOException.class, () -> Gldv2Eval.readSolution(solution)).getMessage()
                .contains("Usage"));
    }

    @Test
    void classLevelMetricsByHand() {
        int[] gallery = {0, 0, 1, 1};
        ClassEval.Result r = ClassEval.evaluate(new int[][] {{2, 0, 1, 3}}, new int[] {0}, gallery, false);
        assertEquals((0.5 + 2.0 / 3.0) / 2, r.mapAll(), 1e-15);
        assertEquals(0.5 / 2, r.mapAtR(), 1e-15);
        assertEquals(0.0, r.mpAt1(), 1e-15);
        assertEquals(0.2, r.mpAt10(), 1e-15);
        // Same images: query 0 is gallery 0, so its only relevant item is gallery 1.
        ClassEval.Result self = ClassEval.evaluate(new int[][] {{1, 2, 3}}, new int[] {0}, gallery, true);
        assertEquals(1.0, self.mapAll(), 1e-15);
        assertEquals(1.0, self.mapAtR(), 1e-15);
    }

    @Test
    void separatedClustersScorePerfectlyAndNoiseDoesNot() {
        Random random = new Random();
        int n = 300;
        int d = 16;
        float[] clustered = new float[n * d];
        float[] noise = new float[n * d];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 3;
            for (int j = 0; j < d; j++) {
                clustered[i * d + j] = (j == labels[i] ? 10f : 0f) + 0.1f * (float) random.nextGaussian();
                noise[i * d + j] = (float) random.nextGaussian();
            }
        }
        ClassEval.Result clean = ClassEval.evaluate(clustered, labels, clustered, labels, d, Metric.L2, true);
        assertEquals(1.0, clean.mapAll(), 1e-12);
        assertEquals(n, clean.queries());
        ClassEval.Result chance = ClassEval.evaluate(noise, labels, noise, labels, d, Metric.INNER_PRODUCT, true);
        assertTrue(chance.mapAll() > 0.2 && chance.mapAll() < 0.5, "random vectors: mAP near 1/3, got "
                + chance.mapAll());
    }
}
