package org.affengine.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

class TrainingInputsTest {
    /** A batch of in-memory items comes back in the order asked, with the item shape and the labels. */
    @Test
    void arraysGiveTheItemsAskedFor() {
        Random random = new Random();
        int n = 7;
        int per = 3 * 2 * 2;
        float[] values = new float[n * per];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        int[] labels = {4, 0, 2, 1, 3, 2, 0};
        TrainingInputs items = TrainingInputs.arrays(values, labels, 5, 3, 2, 2);
        assertEquals(n, items.size());
        assertEquals(5, items.classes());
        int[] batch = {6, 1, 6, 3};
        Tensor t = items.inputs(batch);
        assertArrayEquals(new long[] {4, 3, 2, 2}, t.sizes().vec().get());
        float[] got = new float[batch.length * per];
        ((FloatBuffer) t.contiguous().createBuffer()).get(got);
        for (int b = 0; b < batch.length; b++) {
            assertArrayEquals(java.util.Arrays.copyOfRange(values, batch[b] * per, (batch[b] + 1) * per),
                    java.util.Arrays.copyOfRange(got, b * per, (b + 1) * per));
        }
        long[] l = new long[batch.length];
        ((LongBuffer) items.labels(batch).createBuffer()).get(l);
        assertArrayEquals(new long[] {0, 0, 0, 1}, l);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingInputs.arrays(new float[per * n - 1], labels, 5, 3, 2, 2));
        assertEquals((per * n - 1) + " values are not 7 items of [3, 2, 2]", e.getMessage());
    }

    /** A subset gives its items' inputs and labels by position within the subset, the whole set's classes. */
    @Test
    void subsetMapsPositionsToItems() {
        float[] values = new float[5 * 2];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        TrainingInputs all = TrainingInputs.arrays(values, new int[] {0, 1, 2, 3, 4}, 5, 2);
        TrainingInputs some = TrainingInputs.subset(all, new int[] {4, 1});
        assertEquals(2, some.size());
        assertEquals(5, some.classes());
        float[] got = new float[4];
        ((FloatBuffer) some.inputs(new int[] {1, 0}).contiguous().createBuffer()).get(got);
        assertArrayEquals(new float[] {2, 3, 8, 9}, got);
        long[] l = new long[2];
        ((LongBuffer) some.labels(new int[] {1, 0}).createBuffer()).get(l);
        assertArrayEquals(new long[] {1, 4}, l);
        assertThrows(IllegalArgumentException.class, () -> TrainingInputs.subset(all, new int[] {5}));
    }
}
