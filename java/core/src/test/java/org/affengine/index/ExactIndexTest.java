package org.affengine.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExactIndexTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({
        "INNER_PRODUCT, FLOAT32, 1, 10", "L2, FLOAT32, 1, 10", "INNER_PRODUCT, FLOAT16, 3, 50", "L2, FLOAT16, 5, 7",
        "INNER_PRODUCT, FLOAT32, 40, 100", "L2, FLOAT32, 33, 1"
    })
    void matchesNaiveReference(Metric metric, Storage storage, int nq, int k) {
        TestData data = new TestData();
        int n = 2000;
        int d = 24;
        float[] x = data.gaussian(n, d);
        long[] ids = data.ids(n);
        float[] q = data.gaussian(nq, d);
        float[] stored = storage == Storage.FLOAT16 ? TestData.roundToHalf(x) : x;
        try (ExactIndex index = new ExactIndex(d, metric, storage)) {
            index.add(x, ids);
            assertEquals(n, index.size());
            SearchResult[] got = index.searchBatch(q, k);
            assertEquals(nq, got.length);
            Map<Long, Integer> rowOf = new HashMap<>();
            for (int j = 0; j < n; j++) {
                rowOf.put(ids[j], j);
            }
            for (int i = 0; i < nq; i++) {
                SearchResult ref = TestData.reference(TestData.row(q, d, i), stored, ids, d, metric, k);
                float scale = Math.max(1f, Math.abs(ref.scores()[0]));
                for (int r = 0; r < k; r++) {
                    String where = "seed " + data.seed + " query " + i + " rank " + r;
                    assertEquals(ref.scores()[r], got[i].scores()[r], 1e-4f * scale, where);
                    // The returned id must truly have the score of its rank (near-ties may swap).
                    float truth = TestData.reference(TestData.row(q, d, i),
                            TestData.row(stored, d, rowOf.get(got[i].ids()[r])), new long[] {0}, d, metric, 1)
                            .scores()[0];
                    assertEquals(ref.scores()[r], truth, 1e-4f * scale, where);
                }
            }
        }
    }

    @Test
    void exactTiesGoToTheSmallerId() {
        TestData data = new TestData();
        int n = 3000;
        int d = 4;
        float[] x = new float[n * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = data.random.nextInt(3) - 1;
        }
        long[] ids = data.ids(n);
        try (ExactIndex index = new ExactIndex(d, Metric.INNER_PRODUCT)) {
            index.add(x, ids);
            float[] q = {1, -1, 0, 1};
            SearchResult got = index.search(q, 200);
            assertArrayEquals(TestData.reference(q, x, ids, d, Metric.INNER_PRODUCT, 200).ids(), got.ids(),
                    "seed " + data.seed);
        }
    }

    @Test
    void removeReconstructAndContains() {
        TestData data = new TestData();
        float[] x = data.gaussian(100, 8);
        long[] ids = data.ids(100);
        try (ExactIndex index = new ExactIndex(8, Metric.L2, Storage.FLOAT32)) {
            index.add(x, ids);
            index.remove(ids[0], ids[50]);
            assertEquals(98, index.size());
            assertFalse(index.contains(ids[0]));
            assertTrue(index.contains(ids[1]));
            assertArrayEquals(TestData.row(x, 8, 7), index.reconstruct(ids[7]));
            SearchResult self = index.search(TestData.row(x, 8, 9), 1);
            assertEquals(ids[9], self.ids()[0]);
            assertEquals(0f, self.scores()[0], 1e-5f);
            for (long id : index.search(TestData.row(x, 8, 50), 98).ids()) {
                assertTrue(id != ids[0] && id != ids[50]);
            }
        }
    }

    @Test
    void badInputIsRejectedWithClearMessagesAndChangesNothing() {
        try (ExactIndex index = new ExactIndex(4, Metric.INNER_PRODUCT)) {
            index.add(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, new long[] {1, 2});
            assertMessage(IllegalArgumentException.class, "multiple of the dimension",
                    () -> index.add(new float[] {1, 2, 3}, new long[] {3}));
            assertMessage(IllegalArgumentException.class, "2 vectors",
                    () -> index.add(new float[8], new long[] {3}));
            assertMessage(IllegalArgumentException.class, "non-finite",
                    () -> index.add(new float[] {1, Float.NaN, 3, 4}, new long[] {3}));
            assertMessage(IllegalArgumentException.class, "non-finite",
                    () -> index.add(new float[] {1, 2, Float.POSITIVE_INFINITY, 4}, new long[] {3}));
            assertMessage(IllegalArgumentException.class, "already in the index",
                    () -> index.add(new float[] {1, 2, 3, 4}, new long[] {2}));
            assertMessage(IllegalArgumentException.class, "twice",
                    () -> index.add(new float[8], new long[] {5, 5}));
            assertMessage(IllegalArgumentException.class, "not in the index", () -> index.remove(1, 99));
            assertMessage(IllegalArgumentException.class, "dimension", () -> index.search(new float[3], 1));
            assertMessage(IllegalArgumentException.class, "k must be", () -> index.search(new float[4], 0));
            assertMessage(IllegalArgumentException.class, "exceeds", () -> index.search(new float[4], 3));
            assertMessage(IllegalArgumentException.class, "non-finite",
                    () -> index.search(new float[] {0, Float.NaN, 0, 0}, 1));
            assertEquals(2, index.size());
            assertTrue(index.contains(1));
            assertFalse(index.contains(3));
        }
        assertThrows(IllegalArgumentException.class, () -> new ExactIndex(0, Metric.L2));
        try (ExactIndex half = new ExactIndex(2, Metric.L2, Storage.FLOAT16)) {
            assertMessage(IllegalArgumentException.class, "fp16 range", () -> half.add(new float[] {1e6f, 0}, new long[] {1}));
        }
    }

    @Test
    void closedIndexThrowsInsteadOfCrashing() {
        ExactIndex index = new ExactIndex(2, Metric.L2);
        index.add(new float[] {1, 2}, new long[] {1});
        index.close();
        index.close();
        assertThrows(IllegalStateException.class, () -> index.search(new float[] {1, 2}, 1));
        assertThrows(IllegalStateException.class, index::size);
    }

    @Test
    void saveOpenRoundTripAndCorruptFilesRefused() throws Exception {
        TestData data = new TestData();
        float[] x = data.gaussian(500, 16);
        long[] ids = data.ids(500);
        Path file = dir.resolve("exact.idx");
        float[] q = data.gaussian(3, 16);
        SearchResult[] before;
        try (ExactIndex index = new ExactIndex(16, Metric.L2, Storage.FLOAT16)) {
            index.add(x, ids);
            before = index.searchBatch(q, 10);
            index.save(file);
        }
        try (VectorIndex back = VectorIndexes.open(file)) {
            assertTrue(back instanceof ExactIndex e && e.storage() == Storage.FLOAT16);
            assertEquals(Metric.L2, back.metric());
            assertArrayEquals(before, back.searchBatch(q, 10));
        }
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(file, bytes);
        assertMessage(java.io.UncheckedIOException.class, "checksum", () -> VectorIndexes.open(file));
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertMessage(java.io.UncheckedIOException.class, "truncated", () -> VectorIndexes.open(file));
        Files.writeString(file, "this is not an index at all");
        assertMessage(IllegalArgumentException.class, "not an AFF index", () -> VectorIndexes.open(file));
        assertMessage(java.io.UncheckedIOException.class, "magic", () -> ExactIndex.open(file));
        assertThrows(java.io.UncheckedIOException.class, () -> VectorIndexes.open(dir.resolve("missing.idx")));
    }

    static void assertMessage(Class<? extends Throwable> type, String fragment, Runnable call) {
        Throwable t = assertThrows(type, call::run);
        assertTrue(t.getMessage() != null && t.getMessage().contains(fragment),
                "message '" + t.getMessage() + "' lacks '" + fragment + "'");
    }
}
