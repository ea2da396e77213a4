package org.affengine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** The baselines' gallery encoders: shapes, unit length, padding ignored, costs. */
class EncodersTest {
    final Random random = new Random();

    float[] gaussian(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    static final boolean[] PAD = {false, false, false, false, false, false, true, true, true, true, true, true};

    Tensor run(GalleryEncoder e, float[] g, float[] l) {
        return e.forward(Arrays.asList(Tensor.create(g, 3, 5), Tensor.create(l, 3, 4, 3)),
                Arrays.asList(null, Tensor.create(PAD).reshape(3, 4)));
    }

    @Test
    void singleLocalFeatureIsTheNormalisedMeanOfRealDescriptors() {
        SingleFeature local = new SingleFeature(MixerAndClassifiersTest.INPUTS.get(1));
        float[] l = gaussian(3 * 4 * 3);
        float[] out;
        try (NoGradGuard guard = new NoGradGuard()) {
            out = MixerAndClassifiersTest.values(local.forward(List.of(Tensor.create(l, 3, 4, 3)),
                    Arrays.asList(Tensor.create(PAD).reshape(3, 4))));
        }
        // Image 1 has two real descriptors (rows 4 and 5).
        double[] mean = new double[3];
        for (int r = 4; r < 6; r++) {
            for (int k = 0; k < 3; k++) {
                mean[k] += l[r * 3 + k] / 2;
            }
        }
        double norm = Math.sqrt(mean[0] * mean[0] + mean[1] * mean[1] + mean[2] * mean[2]);
        for (int k = 0; k < 3; k++) {
            assertEquals(mean[k] / norm, out[3 + k], 1e-5);
        }
        assertEquals(0, local.macs());
        assertEquals(0, local.parameters().size());
        assertThrows(IllegalArgumentException.class, () -> local.forward(List.of(), List.of()));
    }

    @Test
    void mlpMixerIsUnitLengthAndIgnoresPadding() {
        MlpMixer mlp = new MlpMixer(MixerAndClassifiersTest.INPUTS, 7, 16);
        float[] g = gaussian(3 * 5);
        float[] l = gaussian(3 * 4 * 3);
        float[] l2 = l.clone();
        for (int i = 6 * 3; i < l2.length; i++) {
            l2[i] = -500f;
        }
        float[] a;
        float[] b;
        try (NoGradGuard guard = new NoGradGuard()) {
            a = MixerAndClassifiersTest.values(run(mlp, g, l));
            b = MixerAndClassifiersTest.values(run(mlp, g, l2));
        }
        assertEquals(21, a.length);
        for (int i = 0; i < 3; i++) {
            double norm = 0;
            for (int k = 0; k < 7; k++) {
                norm += a[i * 7 + k] * a[i * 7 + k];
            }
            assertEquals(1.0, norm, 1e-5);
        }
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-5f);
        }
        assertEquals((5 + 3) * 16 + 16 * 7, mlp.macs());
    }

    @Test
    void mixerCostCountsEveryToken() {
        // 1 fusion + 1 global + 4 local tokens, width 16, 2 layers, FFN 32.
        DynamicMixer m = new DynamicMixer(MixerAndClassifiersTest.INPUTS, new DynamicMixer.Config(16, 2, 4, 32));
        long t = 6;
        long expected = (5 + 4 * 3) * 16 + 2 * (4 * t * 16 * 16 + 2 * t * t * 16 + 2 * t * 16 * 32);
        assertEquals(expected, m.macs());
        assertTrue(new QueryNet(16).macs() > 0);
    }
}
