package org.affengine.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.affengine.data.Dataset;
import org.affengine.data.FashionMnist;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.data.Features;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GalleryModelsTest {
    @TempDir
    Path dir;

    static FashionMnist train;
    static FashionMnist test;

    @BeforeAll
    static void data() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEBIAN_DIR),
                "dataset-fashion-mnist not installed");
        train = FashionMnist.load(Dataset.Split.TRAIN);
        test = FashionMnist.load(Dataset.Split.TEST);
    }

    static float[] embed(TrainableNet net) {
        return net instanceof GlobalNet g ? Embeddings.embed(g, test, 0, 20, 20, i -> { })
                : flatten(((DelfLocal) net).extract(ImageBatches.load(test, new int[] {0, 1, 2}).images(), 5));
    }

    static float[] flatten(Features.LocalSet[] sets) {
        int n = 0;
        for (Features.LocalSet s : sets) {
            n += s.rows().length;
        }
        float[] out = new float[n];
        int at = 0;
        for (Features.LocalSet s : sets) {
            System.arraycopy(s.rows(), 0, out, at, s.rows().length);
            at += s.rows().length;
        }
        return out;
    }

    /** Saved weights load back into the same network: identical outputs, for every built-in model. */
    @Test
    void weightsRoundTrip() throws Exception {
        for (String name : GalleryModels.NAMES) {
            TrainableNet trained = GalleryModels.trainOrLoad(name, dir, train, 5, 3, i -> { });
            assertTrue(Files.exists(GalleryModels.weightsFile(dir, name)));
            TrainableNet loaded = GalleryModels.trainOrLoad(name, dir, train, 5, 3, i -> { });
            assertArrayEquals(embed(trained), embed(loaded), name);
            FeatureSpec spec = GalleryModels.spec(name, loaded, GalleryModels.weightsFile(dir, name), 5);
            assertEquals(name.equals("delf") ? FeatureSpec.Kind.LOCAL : FeatureSpec.Kind.GLOBAL, spec.kind());
            assertEquals(8, spec.details().get("weights_crc32c").length());
        }
        Files.writeString(GalleryModels.weightsFile(dir, "vgg-gem"), "not an archive");
        assertThrows(IOException.class, () -> GalleryModels.trainOrLoad("vgg-gem", dir, train, 5, 3, i -> { }));
        assertThrows(IllegalArgumentException.class, () -> GalleryModels.create("no-such-model"));
    }

    @Test
    void delfKeepsTheTopLocationsWithUnitDescriptorsAndPositions() {
        DelfLocal delf = new DelfLocal(8, 16);
        Features.LocalSet[] sets = delf.extract(ImageBatches.load(test, new int[] {0, 1}).images(), 10);
        assertEquals(2, sets.length);
        for (Features.LocalSet s : sets) {
            assertEquals(10, s.count());
            for (int r = 0; r < s.count(); r++) {
                double norm = 0;
                for (int k = 0; k < 16; k++) {
                    norm += s.rows()[r * 16 + k] * s.rows()[r * 16 + k];
                }
                assertEquals(1.0, norm, 1e-4);
                float x = s.positions()[r * 3];
                float y = s.positions()[r * 3 + 1];
                assertTrue(x > 0 && x < 28 && y > 0 && y < 28, x + "," + y);
                assertEquals(DelfLocal.STRIDE, s.positions()[r * 3 + 2]);
            }
        }
    }

    /** Extraction writes a complete store whose vectors score like the network itself. */
    @Test
    void extractionFillsAStoreThatScoresTheModels() throws Exception {
        Map<String, TrainableNet> nets = new LinkedHashMap<>();
        List<FeatureSpec> specs = new java.util.ArrayList<>();
        for (String name : GalleryModels.NAMES) {
            TrainableNet net = GalleryModels.trainOrLoad(name, dir, train, 40, 1, i -> { });
            nets.put(name, net);
            specs.add(GalleryModels.spec(name, net, GalleryModels.weightsFile(dir, name), 40));
        }
        Dataset small = test.first(300);
        GalleryExtraction.Timing t = GalleryExtraction.extract(small, nets, specs, dir.resolve("store"), 128, 64,
                i -> { });
        assertEquals(300, t.images());
        FeatureStore store = FeatureStore.open(dir.resolve("store"), specs);
        int[] labels = new int[300];
        for (int i = 0; i < 300; i++) {
            labels[i] = test.get(i).label();
        }
        var scores = GalleryExtraction.evaluate(store, labels);
        for (String name : GalleryModels.NAMES) {
            assertTrue(scores.get(name).mapAll() > 0.2, name + " mAP " + scores.get(name).mapAll());
        }
        float[] stored = store.global("resnet-gem", 7);
        float[] direct = Embeddings.embed((GlobalNet) nets.get("resnet-gem"), small, 7, 8, 1, i -> { });
        for (int k = 0; k < stored.length; k++) {
            assertEquals(direct[k], stored[k], 2e-3f);  // fp16 storage
        }
        // A second run finds the store complete and extracts nothing.
        assertEquals(0, GalleryExtraction.extract(small, nets, specs, dir.resolve("store"), 128, 64, i -> { })
                .images());
    }
}
