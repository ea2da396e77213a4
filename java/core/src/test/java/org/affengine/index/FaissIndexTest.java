package org.affengine.index;

import static org.affengine.index.ExactIndexTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FaissIndexTest {
    @TempDir
    Path dir;

    static double recall(SearchResult[] approx, SearchResult[] exact) {
        int found = 0;
        int total = 0;
        for (int i = 0; i < exact.length; i++) {
            Set<Long> truth = new HashSet<>();
            for (long id : exact[i].ids()) {
                truth.add(id);
            }
            for (long id : approx[i].ids()) {
                found += truth.contains(id) ? 1 : 0;
            }
            total += exact[i].size();
        }
        return (double) found / total;
    }

    @Test
    void hnswAndIvfAgreeWithTheExactIndex() {
        TestData data = new TestData();
        int n = 3000;
        int d = 16;
        float[] x = data.gaussian(n, d);
        long[] ids = data.ids(n);
        float[] q = data.gaussian(30, d);
        try (ExactIndex exact = new ExactIndex(d, Metric.L2);
             FaissIndex hnsw = new FaissIndex(d, "HNSW16", Metric.L2);
             FaissIndex ivf = new FaissIndex(d, "IVF8,Flat", Metric.L2)) {
            exact.add(x, ids);
            hnsw.add(x, ids);
            hnsw.setParameter("efSearch", 100);
            assertFalse(ivf.isTrained());
            assertThrows(IllegalStateException.class, () -> ivf.add(x, ids));
            ivf.train(x);
            ivf.add(x, ids);
            ivf.setParameter("nprobe", 8);
            SearchResult[] truth = exact.searchBatch(q, 10);
            assertTrue(recall(hnsw.searchBatch(q, 10), truth) > 0.9, "seed " + data.seed);
            assertEquals(1.0, recall(ivf.searchBatch(q, 10), truth), 1e-9, "seed " + data.seed);
        }
    }

    @Test
    void removeSaveOpen() {
        TestData data = new TestData();
        float[] x = data.gaussian(1000, 8);
        long[] ids = data.ids(1000);
        Path file = dir.resolve("hnsw.idx");
        float[] q = data.gaussian(4, 8);
        SearchResult[] before;
        try (FaissIndex index = new FaissIndex(8, "HNSW16", Metric.INNER_PRODUCT)) {
            index.add(x, ids);
            long top = index.search(TestData.row(q, 8, 0), 1).ids()[0];
            index.remove(top);
            assertFalse(index.contains(top));
            assertEquals(999, index.size());
            for (long id : index.search(TestData.row(q, 8, 0), 50).ids()) {
                assertTrue(id != top);
            }
            assertEquals(1, index.tombstones());
            before = index.searchBatch(q, 5);
            index.save(file);
        }
        try (VectorIndex back = VectorIndexes.open(file)) {
            assertTrue(back instanceof FaissIndex f && f.factory().equals("HNSW16"));
            assertEquals(999, back.size());
            assertArrayEquals(before, back.searchBatch(q, 5));
            FaissIndex hnsw = (FaissIndex) back;
            assertEquals(1, hnsw.tombstones());
            assertEquals(1, hnsw.compact());
            assertEquals(0, hnsw.tombstones());
            assertEquals(999, hnsw.size());
        }
    }

    @Test
    void badInput() throws Exception {
        assertMessage(IllegalArgumentException.class, "invalid FAISS factory",
                () -> new FaissIndex(8, "NoSuchIndex", Metric.L2));
        try (FaissIndex index = new FaissIndex(2, "Flat", Metric.L2)) {
            index.add(new float[] {1, 2}, new long[] {7});
            assertMessage(IllegalArgumentException.class, "already", () -> index.add(new float[] {1, 2}, new long[] {7}));
            assertMessage(IllegalArgumentException.class, "non-finite",
                    () -> index.add(new float[] {Float.NaN, 2}, new long[] {8}));
            assertMessage(IllegalArgumentException.class, "not in the index", () -> index.remove(8));
            assertMessage(IllegalArgumentException.class, "cannot set", () -> index.setParameter("nprobe", 3));
            assertMessage(IllegalArgumentException.class, "exceeds", () -> index.search(new float[] {1, 2}, 2));
        }
        Path file = dir.resolve("bad.idx");
        Files.write(file, new byte[] {'A', 'F', 'F', 'F', 'A', 'I', 'S', 'S', 1, 0, 0});
        assertMessage(java.io.UncheckedIOException.class, "truncated", () -> VectorIndexes.open(file));
    }
}
