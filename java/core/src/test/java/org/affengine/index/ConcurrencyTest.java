package org.affengine.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ConcurrencyTest {
    /** Searches from many threads while ids are added and removed: every result is well formed, nothing crashes. */
    @Test
    void searchesRunWhileTheIndexChanges() throws Exception {
        TestData data = new TestData();
        int d = 16;
        float[] base = data.gaussian(2000, d);
        long[] ids = new long[2000];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        try (ExactIndex index = new ExactIndex(d, Metric.INNER_PRODUCT, Storage.FLOAT16)) {
            index.add(base, ids);
            ExecutorService pool = Executors.newFixedThreadPool(6);
            AtomicInteger searches = new AtomicInteger();
            List<Future<?>> jobs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                jobs.add(pool.submit(() -> {
                    float[] q = data.gaussian(1, d);
                    for (int i = 0; i < 300; i++) {
                        SearchResult r = index.search(q, 10);
                        for (int j = 1; j < 10; j++) {
                            assertTrue(r.scores()[j - 1] >= r.scores()[j]);
                        }
                        searches.incrementAndGet();
                    }
                }));
            }
            jobs.add(pool.submit(() -> {
                for (long id = 10_000; id < 10_300; id++) {
                    index.add(data.gaussian(1, d), new long[] {id});
                    index.remove(id - 10_000);
                }
            }));
            for (Future<?> f : jobs) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertEquals(1200, searches.get());
            assertEquals(2000, index.size());
        }
    }

    /** Closing while other threads search never frees memory under them: they finish or see IllegalStateException. */
    @Test
    void closeDuringSearchesIsSafe() throws Exception {
        TestData data = new TestData();
        ExactIndex index = new ExactIndex(8, Metric.L2);
        index.add(data.gaussian(5000, 8), new TestData().ids(5000));
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<Integer>> jobs = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            jobs.add(pool.submit(() -> {
                int done = 0;
                try {
                    while (true) {
                        index.search(data.gaussian(1, 8), 5);
                        done++;
                    }
                } catch (IllegalStateException closed) {
                    return done;
                }
            }));
        }
        Thread.sleep(200);
        index.close();
        for (Future<Integer> f : jobs) {
            assertTrue(f.get(30, TimeUnit.SECONDS) > 0);
        }
        pool.shutdown();
    }
}
