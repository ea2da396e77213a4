package org.affengine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.affengine.data.Features;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Described images come back from the cache as written; another key, a truncated or damaged file describe again. */
class DescribedCacheTest {
    @TempDir
    Path dir;

    private static PhotoDescriber.Described described(Random r, int n) {
        return new PhotoDescriber.Described(floats(r, n * 5), floats(r, n * 6), sets(r, n, 4), sets(r, n, 6),
                floats(r, n * 7));
    }

    private static List<Features.LocalSet> sets(Random r, int n, int dim) {
        List<Features.LocalSet> sets = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int count = (i + dim) % 3;  // empty sets too
            sets.add(new Features.LocalSet(count, floats(r, count * dim), floats(r, count * 3)));
        }
        return sets;
    }

    private static float[] floats(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    private static void assertSame(PhotoDescriber.Described a, PhotoDescriber.Described b) {
        assertArrayEquals(a.inception(), b.inception());
        assertArrayEquals(a.mobilenet(), b.mobilenet());
        assertArrayEquals(a.maps(), b.maps());
        assertSameSets(a.sift(), b.sift());
        assertSameSets(a.attention(), b.attention());
    }

    private static void assertSameSets(List<Features.LocalSet> a, List<Features.LocalSet> b) {
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).count(), b.get(i).count());
            assertArrayEquals(a.get(i).rows(), b.get(i).rows());
            assertArrayEquals(a.get(i).positions(), b.get(i).positions());
        }
    }

    @Test
    void readsBackWhatItStoredAndRecomputesWhenItMust() throws Exception {
        Random r = new Random(System.nanoTime());
        PhotoDescriber.Described first = described(r, 9);
        PhotoDescriber.Described second = described(r, 9);
        Path input = dir.resolve("input.bin");
        Files.write(input, new byte[] {1, 2, 3});
        DescribedCache.Key key = new DescribedCache.Key().add("settings").addFile(input);
        DescribedCache cache = new DescribedCache(dir.resolve("cache"));
        int[] computed = {0};

        assertSame(first, cache.get("train", key, () -> { computed[0]++; return first; }));
        assertSame(first, cache.get("train", key, () -> { computed[0]++; return second; }));
        assertEquals(1, computed[0], "the second call reads the cache");

        // A changed input file is another key: described again, and the entry replaced.
        Files.write(input, new byte[] {1, 2, 4});
        DescribedCache.Key changed = new DescribedCache.Key().add("settings").addFile(input);
        assertNotEquals(key.hex(), changed.hex());
        assertSame(second, cache.get("train", changed, () -> { computed[0]++; return second; }));
        assertEquals(2, computed[0]);
        assertEquals(key.copy().add("x").hex(), key.copy().add("x").hex(), "copies are independent");
        assertNotEquals(key.copy().add("x").hex(), key.hex());

        // A flipped byte or a truncated file: described again, never returned.
        Path file = dir.resolve("cache/train.described");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(file, bytes);
        assertSame(first, cache.get("train", changed, () -> { computed[0]++; return first; }));
        assertEquals(3, computed[0]);
        Files.write(file, java.util.Arrays.copyOf(Files.readAllBytes(file), 200));
        assertSame(second, cache.get("train", changed, () -> { computed[0]++; return second; }));
        assertEquals(4, computed[0]);
        assertSame(second, cache.get("train", changed, () -> { computed[0]++; return first; }));
        assertEquals(4, computed[0]);

        // find and put: an entry stored by put is found under its key only.
        assertEquals(null, cache.find("train-attention", key));
        cache.put("train-attention", key, first);
        assertSame(first, cache.find("train-attention", key));
        assertEquals(null, cache.find("train-attention", changed));
    }
}
