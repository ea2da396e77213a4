package org.affengine.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.affengine.data.RawImage;
import org.affengine.train.AffModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RetrieverTest {
    @TempDir
    static Path modelDir;

    @TempDir
    Path dir;

    static AffModel model;
    final Random random = new Random();

    @BeforeAll
    static void createModel() throws Exception {
        model = TinyModel.create(modelDir, 16);
    }

    @Test
    void galleryImagesAreFoundByTheirOwnVectorAndImageSearchRuns() throws Exception {
        try (Retriever r = Retriever.open(model, dir)) {
            List<RawImage> images = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                images.add(TinyModel.image(random));
                r.put("item-" + i, images.get(i), Map.of("n", String.valueOf(i)));
            }
            assertEquals(20, r.size());
            float[][] g = model.galleryVectors(images);
            for (int i = 0; i < 20; i++) {
                List<Retriever.Hit> hits = r.search(g[i], 3);
                assertEquals("item-" + i, hits.get(0).id());
                assertEquals(1.0, hits.get(0).score(), 1e-4);
                assertEquals(Map.of("n", String.valueOf(i)), hits.get(0).metadata());
                assertTrue(hits.get(0).score() >= hits.get(1).score());
            }
            List<Retriever.Hit> byImage = r.searchImage(images.get(0), 5);
            assertEquals(5, byImage.size());
            assertEquals(20, r.search(g[0], 1000).size(), "k beyond the gallery size returns everything");
            assertTrue(r.thumbnail("item-3").isPresent());
            assertTrue(r.thumbnail("nope").isEmpty());
        }
    }

    @Test
    void everyChangeSurvivesAReopenWithOrWithoutSnapshots() throws Exception {
        Map<String, float[]> expected = new HashMap<>();
        try (Retriever r = Retriever.open(model, dir)) {
            for (int i = 0; i < 6; i++) {
                RawImage img = TinyModel.image(random);
                r.put("a" + i, img, Map.of());
                expected.put("a" + i, model.galleryVectors(List.of(img))[0]);
            }
            assertTrue(r.remove("a1"));
            assertFalse(r.remove("a1"));
            expected.remove("a1");
            RawImage replacement = TinyModel.image(random);
            r.put("a2", replacement, Map.of("v", "2"));
            expected.put("a2", model.galleryVectors(List.of(replacement))[0]);
        }
        check(expected);
        try (Retriever r = Retriever.open(model, dir)) {
            r.snapshot();
            RawImage img = TinyModel.image(random);
            r.put("b", img, Map.of());
            expected.put("b", model.galleryVectors(List.of(img))[0]);
            assertTrue(r.remove("a0"));
            expected.remove("a0");
        }
        check(expected);
        try (Retriever r = Retriever.open(model, dir)) {
            assertEquals(Map.of("v", "2"), r.metadata("a2").orElseThrow());
        }
    }

    /** Every expected id is found first by its own vector, and nothing else is in the gallery. */
    void check(Map<String, float[]> expected) throws Exception {
        try (Retriever r = Retriever.open(model, dir)) {
            assertEquals(expected.size(), r.size());
            for (Map.Entry<String, float[]> e : expected.entrySet()) {
                assertEquals(e.getKey(), r.search(e.getValue(), 1).get(0).id());
            }
        }
    }

    @Test
    void aTornLogTailIsCutOffAndEverythingBeforeItKept() throws Exception {
        RawImage img = TinyModel.image(random);
        try (Retriever r = Retriever.open(model, dir)) {
            r.put("kept", img, Map.of());
        }
        Path wal = dir.resolve("wal-0.log");
        long good = Files.size(wal);
        Files.write(wal, new byte[] {0, 0, 1, 0, 1, 2, 3, 4, 5}, StandardOpenOption.APPEND);  // a torn record
        try (Retriever r = Retriever.open(model, dir)) {
            assertEquals(1, r.size());
            assertEquals(good, Files.size(wal));
            r.put("after", TinyModel.image(random), Map.of());
        }
        try (Retriever r = Retriever.open(model, dir)) {
            assertEquals(2, r.size());
        }
        Files.write(dir.resolve(GalleryLog.SNAPSHOT), new byte[] {1, 2, 3});
        assertThrows(java.io.IOException.class, () -> Retriever.open(model, dir));
    }

    @Test
    void badInputIsRefusedAndChangesNothing() throws Exception {
        try (Retriever r = Retriever.open(model, dir)) {
            r.put("ok", TinyModel.image(random), Map.of());
            float[] nan = new float[16];
            nan[3] = Float.NaN;
            assertThrows(IllegalArgumentException.class, () -> r.search(new float[15], 5));
            assertThrows(IllegalArgumentException.class, () -> r.search(nan, 5));
            assertThrows(IllegalArgumentException.class, () -> r.search(new float[16], 0));
            assertThrows(IllegalArgumentException.class, () -> r.search(new float[16], 1001));
            assertThrows(IllegalArgumentException.class, () -> r.put("bad id/..", TinyModel.image(random), Map.of()));
            assertThrows(IllegalArgumentException.class, () -> r.putVector("v", nan, Map.of(), null));
            Map<String, String> big = new HashMap<>();
            for (int i = 0; i < 40; i++) {
                big.put("k" + i, "v");
            }
            assertThrows(IllegalArgumentException.class, () -> r.put("x", TinyModel.image(random), big));
            float[] v = new float[16];
            v[0] = 1;
            assertThrows(IllegalArgumentException.class, () -> r.putVectors(List.of(
                    new Retriever.Item("d", v, Map.of(), null), new Retriever.Item("d", v, Map.of(), null))));
            assertEquals(1, r.size());
            assertEquals(List.of("ok"), r.ids(10));
        }
        try (Retriever r = Retriever.open(model, dir)) {
            assertEquals(1, r.size());
        }
    }

    @Test
    void bulkLoadedVectorsAreSearchable() throws Exception {
        try (Retriever r = Retriever.open(model, dir)) {
            List<Retriever.Item> items = new ArrayList<>();
            float[][] vs = new float[50][16];
            for (int i = 0; i < 50; i++) {
                double norm = 0;
                for (int k = 0; k < 16; k++) {
                    vs[i][k] = (float) random.nextGaussian();
                    norm += vs[i][k] * vs[i][k];
                }
                for (int k = 0; k < 16; k++) {
                    vs[i][k] /= (float) Math.sqrt(norm);
                }
                items.add(new Retriever.Item("v" + i, vs[i], Map.of("i", "" + i), null));
            }
            r.putVectors(items);
            List<List<Retriever.Hit>> batch = r.searchBatch(vs, 1);
            for (int i = 0; i < 50; i++) {
                assertEquals("v" + i, batch.get(i).get(0).id());
            }
        }
        try (Retriever r = Retriever.open(model, dir)) {
            assertEquals(50, r.size());
            assertArrayEquals(new String[] {"v0", "v1"}, r.ids(2).toArray());
        }
    }
}
