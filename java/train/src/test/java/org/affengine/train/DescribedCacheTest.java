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
        List<Features.LocalSet> sift = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int count = i % 3;  // empty sets too
            sift.add(new Features.LocalSet(count, floats(r, count * 4), floats(r, count * 3)));
        }
        return new PhotoDescriber.Described(floats(r, n * 5), floats(r, n * 6), sift, floats(r, n * 7));
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
        assertEquals(a.sift().size(), b.sift().size());
        for (int i = 0; i < a.sift().size(); i++) {
            assertEquals(a.sift().get(i).count(), b.sift().get(i).count());
            assertArrayEquals(a.sift().get(i).rows(), b.sift().get(i).rows());
            assertArrayEquals(a.sift().get(i).positions(), b.sift().get(i).positions());
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
    }
}
