package org.affengine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.affengine.data.Dataset;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.data.FeatureStoreWriter;
import org.affengine.data.Features;
import org.affengine.data.LabelledImage;
import org.affengine.data.RawImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Joint training on a small synthetic set where both sides carry the class: gallery features are class centres plus
 * noise (one global, one local model), images are 28x28 with a class-dependent bright bar. Both ArcFace losses fall.
 */
class AffTrainerTest {
    @TempDir
    Path dir;

    static final int N = 400;
    static final int CLASSES = 4;

    record Bars(long seed) implements Dataset {
        public String name() {
            return "bars";
        }

        public Split split() {
            return Split.TRAIN;
        }

        public int size() {
            return N;
        }

        public int classes() {
            return CLASSES;
        }

        public LabelledImage get(int i) {
            Random r = new Random(seed * 1000 + i);
            int label = i % CLASSES;
            byte[] px = new byte[28 * 28];
            for (int p = 0; p < px.length; p++) {
                px[p] = (byte) r.nextInt(60);
            }
            for (int y = 0; y < 28; y++) {
                for (int x = label * 7; x < label * 7 + 7; x++) {
                    px[y * 28 + x] = (byte) (180 + r.nextInt(60));
                }
            }
            return new LabelledImage("bars-" + i, label, new RawImage(28, 28, 1, px));
        }
    }

    static final List<FeatureSpec> SPECS = List.of(FeatureSpec.global("g", 12, Map.of()),
            FeatureSpec.local("l", 6, 5, Map.of()));

    /** Gallery features that carry the class: class centres plus noise, one global and one local model. */
    FeatureStore store() throws Exception {
        Random r = new Random(7);
        float[][] centres = new float[CLASSES][12];
        for (float[] c : centres) {
            for (int k = 0; k < 12; k++) {
                c[k] = (float) r.nextGaussian();
            }
        }
        try (FeatureStoreWriter w = FeatureStoreWriter.open(dir, "bars", Dataset.Split.TRAIN, N, 100, SPECS)) {
            for (int i = 0; i < N; i++) {
                float[] g = new float[12];
                for (int k = 0; k < 12; k++) {
                    g[k] = centres[i % CLASSES][k] + 0.3f * (float) r.nextGaussian();
                }
                int n = 1 + i % 5;
                float[] rows = new float[n * 6];
                for (int k = 0; k < rows.length; k++) {
                    rows[k] = centres[i % CLASSES][k % 6] + 0.5f * (float) r.nextGaussian();
                }
                w.append(new Features(Map.of("g", g), Map.of("l", new Features.LocalSet(n, rows, new float[n * 3]))));
            }
        }
        return FeatureStore.open(dir, SPECS);
    }

    @Test
    void bothLossesFallWhenTrainedJointly() throws Exception {
        FeatureStore store = store();
        org.bytedeco.pytorch.global.torch.manual_seed(1);
        DynamicMixer mixer = new DynamicMixer(SPECS, new DynamicMixer.Config(32, 1, 4, 64));
        QueryNet query = new QueryNet(32);
        List<AffTrainer.Point> curve = AffTrainer.train(mixer, query, store, new Bars(1),
                new AffTrainer.Config(60, 32, 3e-3, 0, 0.9, 8, 0.1, 1, AffTrainer.Schedule.JOINT), () -> { });
        AffTrainer.Point first = curve.get(0);
        AffTrainer.Point last = curve.get(curve.size() - 1);
        assertTrue(last.mixerLoss() < 0.7 * first.mixerLoss(), "mixer loss: " + curve);
        assertTrue(last.queryLoss() < 0.9 * first.queryLoss(), "query loss: " + curve);
        float[] g = AffTrainer.galleryVectors(mixer, store, 64);
        assertEquals(N * 32, g.length);
        assertTrue(query.macs() > 0);
        assertThrows(IllegalArgumentException.class, () -> AffTrainer.train(mixer, query, store, new Dataset() {
            public String name() {
                return "short";
            }

            public Split split() {
                return Split.TRAIN;
            }

            public int size() {
                return 10;
            }

            public int classes() {
                return CLASSES;
            }

            public LabelledImage get(int i) {
                return new Bars(1).get(i);
            }
        }, new AffTrainer.Config(1, 4, 0.01, 0, 0.9, 8, 0.1, 1, AffTrainer.Schedule.JOINT), () -> { }));
    }

    @Test
    void twoStageFitsTheGalleryClassifierFirstThenTheQueryModelAgainstIt() throws Exception {
        FeatureStore store = store();
        org.bytedeco.pytorch.global.torch.manual_seed(2);
        SingleFeature frozen = new SingleFeature(SPECS.get(0));
        QueryNet query = new QueryNet(12);
        List<AffTrainer.Point> curve = AffTrainer.train(frozen, query, store, new Bars(1),
                new AffTrainer.Config(40, 32, 3e-3, 0, 0.9, 8, 0.1, 1, AffTrainer.Schedule.TWO_STAGE), () -> { });
        assertEquals(40, curve.size());
        List<AffTrainer.Point> first = curve.subList(0, 20);
        List<AffTrainer.Point> second = curve.subList(20, 40);
        assertTrue(first.stream().allMatch(p -> Double.isNaN(p.queryLoss()) && !Double.isNaN(p.mixerLoss())));
        assertTrue(second.stream().allMatch(p -> Double.isNaN(p.mixerLoss()) && !Double.isNaN(p.queryLoss())));
        assertEquals(80, curve.get(39).step());
        // Class-centred features: the classifier on the frozen features learns them; the query model then too.
        assertTrue(first.get(19).mixerAccuracy() > 0.9, curve.toString());
        assertTrue(second.get(19).queryLoss() < second.get(0).queryLoss(), curve.toString());
        assertThrows(IllegalArgumentException.class, () -> AffTrainer.train(frozen, new QueryNet(16), store,
                new Bars(1), new AffTrainer.Config(1, 4, 0.01, 0, 0.9, 8, 0.1, 1, AffTrainer.Schedule.JOINT),
                () -> { }));
    }

    /**
     * Local dropout hides whole local sets, about the asked share of the images', and leaves the rest of the batch as
     * it was; 0 leaves the batch alone.
     */
    @Test
    void localDropoutHidesWholeLocalSets() {
        Random random = new Random();
        FeatureSpec global = FeatureSpec.global("g", 3, Map.of());
        FeatureSpec local = FeatureSpec.local("l", 2, 4, Map.of());
        List<Features> items = new java.util.ArrayList<>();
        int n = 400;
        for (int i = 0; i < n; i++) {
            int count = 1 + i % 4;
            float[] rows = new float[count * 2];
            for (int k = 0; k < rows.length; k++) {
                rows[k] = (float) random.nextGaussian();
            }
            items.add(new Features(Map.of("g", new float[] {1, 2, 3}),
                    Map.of("l", new Features.LocalSet(count, rows, new float[count * 3]))));
        }
        GalleryBatches.Batch batch = GalleryBatches.of(List.of(global, local), items);
        assertTrue(AffTrainer.dropLocal(batch, 0, random) == batch);
        GalleryBatches.Batch dropped = AffTrainer.dropLocal(batch, 0.3, random);
        assertEquals(null, dropped.padding().get(0));
        assertTrue(dropped.features() == batch.features());
        boolean[] before = bools(batch.padding().get(1), n * 4);
        boolean[] after = bools(dropped.padding().get(1), n * 4);
        int hidden = 0;
        for (int i = 0; i < n; i++) {
            boolean all = true;
            boolean same = true;
            for (int k = 0; k < 4; k++) {
                all &= after[i * 4 + k];
                same &= after[i * 4 + k] == before[i * 4 + k];
            }
            assertTrue(all || same, "image " + i + ": a set is hidden whole or left as it was");
            hidden += all ? 1 : 0;
        }
        assertTrue(hidden > 0.2 * n && hidden < 0.4 * n, hidden + " of " + n + " hidden at p 0.3");
        assertThrows(IllegalArgumentException.class, () -> new AffTrainer.Config(1, 4, 0.01, 0, 0.9, 8, 0.1, 1,
                AffTrainer.Schedule.JOINT, 1.0));
    }

    private static boolean[] bools(org.bytedeco.pytorch.Tensor t, int n) {
        byte[] b = new byte[n];
        ((java.nio.ByteBuffer) t.contiguous().to(org.bytedeco.pytorch.global.torch.ScalarType.Byte).createBuffer())
                .get(b);
        boolean[] out = new boolean[n];
        for (int i = 0; i < n; i++) {
            out[i] = b[i] != 0;
        }
        return out;
    }
}
