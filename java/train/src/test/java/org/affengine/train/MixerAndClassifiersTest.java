package org.affengine.train;

import static org.bytedeco.pytorch.global.torch.cross_entropy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.affengine.data.FeatureSpec;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

class MixerAndClassifiersTest {
    final Random random = new Random();

    float[] gaussian(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    static float[] values(Tensor t) {
        Tensor c = t.contiguous();
        float[] v = new float[(int) c.numel()];
        ((FloatBuffer) c.createBuffer()).get(v);
        return v;
    }

    static final List<FeatureSpec> INPUTS = List.of(FeatureSpec.global("g", 5, Map.of()),
            FeatureSpec.local("l", 3, 4, Map.of()));

    @Test
    void mixerOutputIsUnitLengthAndIgnoresPaddedTokens() {
        DynamicMixer mixer = new DynamicMixer(INPUTS, new DynamicMixer.Config(16, 2, 4, 32));
        mixer.train(false);
        float[] g = gaussian(3 * 5);
        float[] l = gaussian(3 * 4 * 3);
        // Image 0 has 4 local descriptors, image 1 has 2, image 2 none.
        boolean[] pad = {false, false, false, false, false, false, true, true, true, true, true, true};
        float[] out;
        float[] samePadsChanged;
        float[] realChanged;
        try (NoGradGuard guard = new NoGradGuard()) {
            out = values(run(mixer, g, l, pad));
            float[] l2 = l.clone();
            for (int i = 6 * 3; i < l2.length; i++) {  // every padded row (image 1 rows 2-3, image 2)
                l2[i] = 1000f;
            }
            samePadsChanged = values(run(mixer, g, l2, pad));
            float[] l3 = l.clone();
            l3[4 * 3] += 1f;  // image 1, first (real) descriptor
            realChanged = values(run(mixer, g, l3, pad));
        }
        assertEquals(3 * 16, out.length);
        for (int b = 0; b < 3; b++) {
            double norm = 0;
            for (int k = 0; k < 16; k++) {
                norm += out[b * 16 + k] * out[b * 16 + k];
            }
            assertEquals(1.0, norm, 1e-5);
        }
        for (int i = 0; i < out.length; i++) {
            assertEquals(out[i], samePadsChanged[i], 1e-5f, "padding must not change the output");
        }
        double moved = 0;
        for (int k = 16; k < 32; k++) {
            moved += Math.abs(out[k] - realChanged[k]);
        }
        assertTrue(moved > 1e-4, "a real descriptor changes the fused vector");
        assertEquals(out[0], realChanged[0], 1e-5f);  // other images untouched

        mixer.train(true);
        Tensor y = run(mixer, g, l, pad);
        y.sum().backward();
        assertTrue(mixer.parameters().get(0).grad().defined(), "gradients reach the projections");
        assertThrows(IllegalArgumentException.class,
                () -> new DynamicMixer(INPUTS, new DynamicMixer.Config(15, 1, 4, 8)));
    }

    static Tensor run(DynamicMixer mixer, float[] g, float[] l, boolean[] pad) {
        Tensor mask = Tensor.create(pad).reshape(3, 4);
        return mixer.forward(Arrays.asList(Tensor.create(g, 3, 5), Tensor.create(l, 3, 4, 3)),
                Arrays.asList(null, mask));
    }

    @Test
    void arcFaceLogitsFollowTheFormula() {
        float[] x = gaussian(4 * 8);
        float[] w = gaussian(5 * 8);
        long[] labels = {0, 3, 4, 3};
        double s = 16;
        double m = 0.2;
        float[] got = values(ArcFace.logits(Tensor.create(x, 4, 8), Tensor.create(w, 5, 8), Tensor.create(labels, 4),
                s, m));
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 5; j++) {
                double dot = 0;
                double nx = 0;
                double nw = 0;
                for (int k = 0; k < 8; k++) {
                    dot += x[i * 8 + k] * w[j * 8 + k];
                    nx += x[i * 8 + k] * x[i * 8 + k];
                    nw += w[j * 8 + k] * w[j * 8 + k];
                }
                double cos = dot / Math.sqrt(nx * nw);
                double want = s * (j == labels[i] ? Math.cos(Math.acos(cos) + m) : cos);
                assertEquals(want, got[i * 5 + j], 1e-4 * s, "row " + i + " class " + j);
            }
        }
    }

    @Test
    void momentumClassifierFollowsTheClosedFormAndGetsNoGradient() {
        double alpha = 0.9;
        float[] w0 = gaussian(5 * 8);
        MomentumClassifier q = new MomentumClassifier(Tensor.create(w0, 5, 8), alpha);
        double[] expected = new double[w0.length];
        for (int i = 0; i < w0.length; i++) {
            expected[i] = Math.pow(alpha, 6) * w0[i];
        }
        for (int t = 1; t <= 6; t++) {
            float[] wt = gaussian(5 * 8);
            q.update(Tensor.create(wt, 5, 8));
            for (int i = 0; i < wt.length; i++) {
                expected[i] += (1 - alpha) * Math.pow(alpha, 6 - t) * wt[i];
            }
        }
        float[] got = values(q.weight());
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected[i], got[i], 1e-5, "weight " + i);
        }
        // The query embedding receives gradient through the momentum classifier; the classifier itself none.
        Tensor x = Tensor.create(gaussian(4 * 8), 4, 8).requires_grad_(true);
        Tensor loss = cross_entropy(ArcFace.logits(x, q.weight(), Tensor.create(new long[] {1, 2, 3, 4}, 4), 16,
                0.2), Tensor.create(new long[] {1, 2, 3, 4}, 4));
        loss.backward();
        assertTrue(x.grad().defined());
        assertFalse(q.weight().requires_grad());
        assertFalse(q.weight().grad().defined());
        MomentumClassifier coupled = new MomentumClassifier(Tensor.create(w0, 5, 8), 0.0);
        float[] next = gaussian(5 * 8);
        coupled.update(Tensor.create(next, 5, 8));
        float[] c = values(coupled.weight());
        for (int i = 0; i < c.length; i++) {
            assertEquals(next[i], c[i], 1e-6f);  // alpha = 0: a copy of the mixer classifier
        }
        assertThrows(IllegalArgumentException.class, () -> new MomentumClassifier(Tensor.create(w0, 5, 8), 1.0));
    }
}
