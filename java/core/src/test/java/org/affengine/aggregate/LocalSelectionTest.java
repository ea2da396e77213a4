package org.affengine.aggregate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LocalSelectionTest {
    /** Against a full sort in Java on fresh random scores (with a tie), descriptors compared as unit rows. */
    @Test
    void keepsTheBestPositionsWithUnitRows() {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        int batch = 3;
        int positions = 289;
        int dim = 24;
        int n = 17;
        float[] scores = new float[batch * positions];
        float[] desc = new float[batch * positions * dim];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = (float) random.nextDouble() * 3;
        }
        for (int i = 0; i < desc.length; i++) {
            desc[i] = (float) random.nextGaussian();
        }
        scores[positions + 40] = 5;
        scores[positions + 9] = 5;  // a tie: the smaller position first
        LocalSelection.Selected got = LocalSelection.select(scores, desc, batch, positions, dim, n);
        assertEquals(9, got.positions()[n], "seed " + seed);
        assertEquals(40, got.positions()[n + 1], "seed " + seed);
        for (int b = 0; b < batch; b++) {
            int base = b * positions;
            int[] order = IntStream.range(0, positions).boxed().sorted((x, y) -> scores[base + x] != scores[base + y]
                    ? Float.compare(scores[base + y], scores[base + x]) : Integer.compare(x, y))
                    .mapToInt(Integer::intValue).toArray();
            for (int k = 0; k < n; k++) {
                assertEquals(order[k], got.positions()[b * n + k], "image " + b + " rank " + k + ", seed " + seed);
                double norm = 0;
                for (int c = 0; c < dim; c++) {
                    norm += (double) desc[(base + order[k]) * dim + c] * desc[(base + order[k]) * dim + c];
                }
                for (int c = 0; c < dim; c++) {
                    double want = desc[(base + order[k]) * dim + c] / Math.sqrt(norm);
                    assertEquals(want, got.rows()[(b * n + k) * dim + c], 1e-5 * Math.max(1, Math.abs(want)),
                            "seed " + seed);
                }
            }
        }
    }

    @Test
    void refusesBadInput() {
        float[] scores = {1, 2, 3, 4};
        float[] desc = new float[8];
        java.util.Arrays.fill(desc, 1);
        assertThrows(IllegalArgumentException.class, () -> LocalSelection.select(scores, desc, 1, 4, 2, 5));
        assertThrows(IllegalArgumentException.class, () -> LocalSelection.select(scores, desc, 1, 4, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> LocalSelection.select(scores, desc, 1, 4, 3, 2));
        assertThrows(IllegalArgumentException.class, () -> LocalSelection.select(scores, desc, 0, 4, 2, 1));
        scores[2] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LocalSelection.select(scores, desc, 1, 4, 2, 2));
        assertEquals("select_local: score 2 is not finite", e.getMessage());
    }
}
