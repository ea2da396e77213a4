package org.affengine.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.affengine.data.RawImage;
import org.affengine.serve.AffService;
import org.affengine.serve.Retriever;
import org.affengine.train.AffModel;
import org.affengine.train.UntrainedModel;

/**
 * Serving throughput and latency, loopback only, bounded in time: a gallery of N random unit vectors (d = the
 * model's), then for a fixed time each: vector search through the in-process API, the same searches over HTTP,
 * image search over HTTP — each with one thread adding gallery items (fsynced) throughout. Client threads run in
 * this JVM too (on a small machine they take CPU from the server: the HTTP numbers are a lower bound). Also the
 * process's resident memory after loading. Prints a Markdown table row per measurement and JSON.
 *
 * <p>Timings depend only on shapes, not on weights, so an untrained model of the bundle's width is used.
 *   ServeLoad N D SECONDS THREADS WORKDIR
 */
public final class ServeLoad {
    private ServeLoad() {}

    record Stats(String what, double qps, double p50ms, double p99ms, long requests, long adds) {}

    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        int d = Integer.parseInt(args[1]);
        double seconds = Double.parseDouble(args[2]);
        int threads = Integer.parseInt(args[3]);
        Path work = Path.of(args[4]);
        org.bytedeco.pytorch.global.torch.set_num_threads(1);
        AffModel model = UntrainedModel.write(work.resolve("model"), d, 1);
        long rssBefore = rssBytes();
        Retriever retriever = Retriever.open(model, work.resolve("gallery-" + n));
        Random random = new Random(1);
        if (retriever.size() < n) {
            for (int start = retriever.size(); start < n; start += 10_000) {
                List<Retriever.Item> items = new ArrayList<>();
                for (int i = start; i < Math.min(n, start + 10_000); i++) {
                    items.add(new Retriever.Item("v" + i, unit(random, d), Map.of("i", String.valueOf(i)), null));
                }
                retriever.putVectors(items);
            }
            retriever.snapshot();
        }
        System.gc();
        long rssAfter = rssBytes();
        String key = "bench-key-0123456789abcdef";
        AffService service = new AffService(retriever, new AffService.Config("127.0.0.1", 0, key, 8 << 20, 1024,
                work.resolve("model/bundle"), 0));
        byte[] png = Retriever.thumbnailPng(image(random));
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String base = "http://127.0.0.1:" + service.port();
        List<Stats> out = new ArrayList<>();
        float[][] queries = new float[1024][];
        String[] bodies = new String[queries.length];
        for (int i = 0; i < queries.length; i++) {
            queries[i] = unit(random, d);
            bodies[i] = "{\"k\":10,\"vector\":" + Arrays.toString(queries[i]) + "}";
        }
        AtomicLong addCounter = new AtomicLong();
        // Warm-up, then each measurement.
        run("warm-up", 2, threads, retriever, addCounter, i -> retriever.search(queries[i % queries.length], 10));
        out.add(run("vector search, in-process", seconds, threads, retriever, addCounter,
                i -> retriever.search(queries[i % queries.length], 10)));
        out.add(run("vector search, HTTP", seconds, threads, retriever, addCounter, i -> {
            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/search/vector"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(bodies[i % bodies.length])).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            check(r);
        }));
        out.add(run("image search, in-process", seconds, threads, retriever, addCounter,
                i -> retriever.searchImage(new org.affengine.data.ImageCodec().decode(png, false), 10)));
        out.add(run("image search, HTTP", seconds, threads, retriever, addCounter, i -> {
            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/search/image?k=10"))
                    .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(png))
                    .build(), HttpResponse.BodyHandlers.ofByteArray());
            check(r);
        }));
        service.close();
        retriever.close();

        System.out.printf(Locale.ROOT, "N = %,d, d = %d, %d client threads, %.0f s each, one thread adding "
                + "gallery items (fsynced) meanwhile%n%n", n, d, threads, seconds);
        System.out.println("| measurement | QPS | p50 ms | p99 ms | requests | adds meanwhile |");
        System.out.println("|---|---|---|---|---|---|");
        for (Stats s : out) {
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.3f | %.3f | %d | %d |%n", s.what(), s.qps(), s.p50ms(),
                    s.p99ms(), s.requests(), s.adds());
        }
        double ratio = out.get(1).qps() / out.get(0).qps();
        double mib = (rssAfter - rssBefore) / 1048576.0;
        System.out.printf(Locale.ROOT, "%nHTTP vector search throughput = %.1f%% of in-process (overhead %.1f%%)%n",
                100 * ratio, 100 * (1 - ratio));
        System.out.printf(Locale.ROOT, "resident memory for the gallery: %.0f MiB, %.0f MiB per million vectors%n",
                mib, mib * 1e6 / n);
        System.out.printf(Locale.ROOT, "{\"n\": %d, \"d\": %d, \"threads\": %d, \"http_over_inprocess\": %.4f, "
                + "\"gallery_rss_mib\": %.1f, \"rows\": [%s]}%n", n, d, threads, ratio, mib,
                String.join(", ", out.stream().map(s -> String.format(Locale.ROOT,
                        "{\"what\": \"%s\", \"qps\": %.1f, \"p50_ms\": %.4f, \"p99_ms\": %.4f, \"adds\": %d}",
                        s.what(), s.qps(), s.p50ms(), s.p99ms(), s.adds())).toList()));
        System.exit(0);
    }

    interface Call {
        void run(int i) throws Exception;
    }

    static void check(HttpResponse<byte[]> r) {
        if (r.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + r.statusCode() + ": " + new String(r.body()));
        }
    }

    /** Runs the call from `threads` threads for `seconds`, with one thread adding items meanwhile. */
    static Stats run(String what, double seconds, int threads, Retriever retriever, AtomicLong addCounter, Call call)
            throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<long[]> latencies = new ArrayList<>();
        List<Thread> workers = new ArrayList<>();
        AtomicLong failures = new AtomicLong();
        for (int t = 0; t < threads; t++) {
            long[] lat = new long[500_000];
            latencies.add(lat);
            int seed = t;
            Thread th = new Thread(() -> {
                int i = seed * 7919;
                int count = 0;
                while (!stop.get() && count < lat.length - 1) {
                    long t0 = System.nanoTime();
                    try {
                        call.run(i++);
                    } catch (Exception e) {
                        failures.incrementAndGet();
                    }
                    lat[++count] = System.nanoTime() - t0;
                }
                lat[0] = count;
            });
            workers.add(th);
        }
        long addsBefore = addCounter.get();
        Thread adder = new Thread(() -> {
            Random r = new Random(42);
            while (!stop.get()) {
                try {
                    retriever.putVector("added-" + addCounter.incrementAndGet(), unit(r, retriever.dim()), Map.of(),
                            null);
                    Thread.sleep(5);
                } catch (Exception e) {
                    return;
                }
            }
        });
        long start = System.nanoTime();
        workers.forEach(Thread::start);
        adder.start();
        Thread.sleep((long) (seconds * 1000));
        stop.set(true);
        for (Thread th : workers) {
            th.join();
        }
        adder.join();
        double elapsed = (System.nanoTime() - start) / 1e9;
        long total = 0;
        for (long[] l : latencies) {
            total += l[0];
        }
        long[] all = new long[(int) total];
        int p = 0;
        for (long[] l : latencies) {
            System.arraycopy(l, 1, all, p, (int) l[0]);
            p += (int) l[0];
        }
        Arrays.sort(all);
        if (failures.get() > 0) {
            throw new IllegalStateException(what + ": " + failures.get() + " failed calls");
        }
        return new Stats(what, total / elapsed, all[all.length / 2] / 1e6, all[(int) (all.length * 0.99)] / 1e6,
                total, addCounter.get() - addsBefore);
    }

    static float[] unit(Random r, int d) {
        float[] v = new float[d];
        double norm = 0;
        for (int k = 0; k < d; k++) {
            v[k] = (float) r.nextGaussian();
            norm += v[k] * v[k];
        }
        for (int k = 0; k < d; k++) {
            v[k] /= (float) Math.sqrt(norm);
        }
        return v;
    }

    static RawImage image(Random r) {
        byte[] px = new byte[28 * 28];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) r.nextInt(256);
        }
        return new RawImage(28, 28, 1, px);
    }

    static long rssBytes() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }
}
