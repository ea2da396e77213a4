package org.affengine.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.affengine.data.Features;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

class AttentionLocalTest {
    static final int CHANNELS = 12;
    static final int SIDE = 5;
    static final int CLASSES = 5;  // 4 with a pattern, the last pure noise

    /**
     * Synthetic maps: an item carries its class's pattern at one random location among locations of noise, so
     * classifying the pooled descriptor needs attention on the pattern's location. Items of the last class are noise
     * only (signalAt -1): without them one patterned class could be told by the absence of the others.
     */
    record Maps(TrainingInputs inputs, int[] signalAt) {
        static Maps draw(int n, float[][] patterns, Random random) {
            int per = CHANNELS * SIDE * SIDE;
            float[] v = new float[n * per];
            int[] labels = new int[n];
            int[] at = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = random.nextInt(CLASSES);
                at[i] = labels[i] == CLASSES - 1 ? -1 : random.nextInt(SIDE * SIDE);
                for (int c = 0; c < CHANNELS; c++) {
                    for (int p = 0; p < SIDE * SIDE; p++) {
                        float noise = (float) Math.abs(random.nextGaussian()) * 0.5f;
                        v[i * per + c * SIDE * SIDE + p] = p == at[i] ? patterns[labels[i]][c] + 0.1f * noise : noise;
                    }
                }
            }
            return new Maps(TrainingInputs.arrays(v, labels, CLASSES, CHANNELS, SIDE, SIDE), at);
        }
    }

    /** Trained on fresh random maps, attention ranks each unseen map's pattern location first. */
    @Test
    void learnsWhereTheInstanceIs() {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        // Class k: strong on channel 0 (where an object is, as a backbone's activations say) and on its own channels
        // among the others (shuffled).
        float[][] patterns = new float[CLASSES - 1][CHANNELS];
        List<Integer> channels = new java.util.ArrayList<>(java.util.stream.IntStream.range(1, CHANNELS).boxed()
                .toList());
        java.util.Collections.shuffle(channels, random);
        for (int c = 0; c < channels.size(); c++) {
            patterns[c % (CLASSES - 1)][channels.get(c)] = 5f;
        }
        for (float[] p : patterns) {
            p[0] = 5f;
        }
        Maps train = Maps.draw(512, patterns, random);
        Maps test = Maps.draw(64, patterns, random);
        org.bytedeco.pytorch.global.torch.manual_seed(seed);
        AttentionLocal net = new AttentionLocal("synthetic", CHANNELS, SIDE, 16, 32, 16);
        List<Trainer.Point> curve = Trainer.train(net, train.inputs(), new Trainer.Config(800, 32, 0.05, 0.9, 0, seed,
                200), i -> { });
        assertTrue(curve.get(curve.size() - 1).accuracy() > 0.9, "training accuracy " + curve + ", seed " + seed);
        int[] all = java.util.stream.IntStream.range(0, test.signalAt().length).toArray();
        Features.LocalSet[] sets = net.extract(test.inputs().inputs(all), 3);
        int first = 0;
        int patterned = 0;
        for (int i = 0; i < sets.length; i++) {
            assertEquals(3, sets[i].count());
            patterned += test.signalAt()[i] >= 0 ? 1 : 0;
            int x = test.signalAt()[i] % SIDE;
            int y = test.signalAt()[i] / SIDE;
            if (test.signalAt()[i] >= 0 && sets[i].positions()[0] == (x + 0.5f) * 16
                    && sets[i].positions()[1] == (y + 0.5f) * 16) {
                first++;
            }
            assertEquals(16f, sets[i].positions()[2]);
            for (int k = 0; k < 3; k++) {
                double norm = 0;
                for (int c = 0; c < 16; c++) {
                    norm += sets[i].rows()[k * 16 + c] * sets[i].rows()[k * 16 + c];
                }
                assertEquals(1, norm, 1e-5);
            }
        }
        assertTrue(first >= 0.9 * patterned, first + " of " + patterned + " ranked first, seed " + seed);
        assertEquals(25 * 12 * 32 + 25 * 32 + 25 * 12 * 16, net.macs());  // attention 12 -> 32 -> 1, descriptor 12 -> 16
    }

    @Test
    void refusesMapsOfAnotherShape() {
        AttentionLocal net = new AttentionLocal("synthetic", CHANNELS, SIDE, 16, 16, 8);
        Tensor wrong = Tensor.create(new float[2 * CHANNELS * 4 * 4], 2, CHANNELS, 4, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.extract(wrong, 3));
        assertTrue(e.getMessage().contains("takes maps [B, 12, 5, 5]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new AttentionLocal("x", CHANNELS, SIDE, 0, 16, 8));
    }
}
