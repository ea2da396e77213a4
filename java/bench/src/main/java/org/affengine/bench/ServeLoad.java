package org.affengine.bench;

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
import java.util.concurrent.atomic.AtomicReference;
import org.affengine.data.RawImage;
import org.affengine.serve.AffService;
import org.affengine.serve.Retriever;
import org.affengine.train.AffModel;
import org.affengine.train.UntrainedModel;

/**
 * Serving throughput and latency, loopback only, bounded in time: a gallery of N random unit vectors (d = the
 * model's), then for a fixed time each: vector search through the in-process API, the same searches over HTTP,
 * image search in-process and over HTTP — each with one thread adding gallery items (fsynced) throughout. The
 * in-process clients are Java threads; the HTTP client is wrk (C, 2 threads, as many connections as the in-process
 * threads), on the same machine (on a small machine it takes CPU from the server: the HTTP numbers are a lower
 * bound). Also the process's resident memory after loading. Prints a Markdown table and JSON.
 *
 * <p>Timings depend only on shapes, not on weights, so an untrained model of the bundle's width is used.
 *   ServeLoad N D SECONDS THREADS WORKDIR
 */
public final class ServeLoad {
    private ServeLoad() {}

    record Stats(String what, double qps, double p50ms, double p99ms, long requests, long adds) {}

    public static void main(String[] args) {
        try {
            measure(args);
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);  // the service's threads would otherwise keep the JVM up
        }
    }

    static void measure(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        int d = Integer.parseInt(args[1]);
        double seconds = Double.parseDouble(args[2]);
        int threads = Integer.parseInt(args[3]);
        Path work = Path.of(args[4]);
        org.bytedeco.pytorch.global.torch.set_num_threads(1);
        AffModel model = UntrainedModel.write(work.resolve("model"), d, 1);
        System.gc();
        long rssBefore = rssBytes();
        long heapBefore = heapUsed();
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
        long heapAfter = heapUsed();
        String key = "bench-key-0123456789abcdef";
        AffService service = new AffService(retriever, new AffService.Config("127.0.0.1", 0, key, 8 << 20, 1024,
                work.resolve("model/bundle"), 0));
        byte[] png = Retriever.thumbnailPng(image(random));
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
        Files.write(work.resolve("vector-bodies.txt"), String.join("\n", bodies).getBytes());
        Files.write(work.resolve("query.png"), png);
        out.add(wrk("vector search, HTTP", seconds, threads, retriever, addCounter, base, work, "vector"));
        out.add(run("image search, in-process", seconds, threads, retriever, addCounter,
                i -> retriever.searchImage(new org.affengine.data.ImageCodec().decode(png, false), 10)));
        out.add(wrk("image search, HTTP", seconds, threads, retriever, addCounter, base, work, "image"));
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
        double heapMib = (heapAfter - heapBefore) / 1048576.0;
        System.out.printf(Locale.ROOT, "resident memory for the gallery: %.0f MiB (%.0f MiB per million vectors), "
                + "of which Java heap in use %.0f MiB (%.0f per million)%n", mib, mib * 1e6 / n, heapMib,
                heapMib * 1e6 / n);
        System.out.printf(Locale.ROOT, "{\"n\": %d, \"d\": %d, \"threads\": %d, \"http_over_inprocess\": %.4f, "
                + "\"gallery_rss_mib\": %.1f, \"rows\": [%s]}%n", n, d, threads, ratio, mib,
                String.join(", ", out.stream().map(s -> String.format(Locale.ROOT,
                        "{\"what\": \"%s\", \"qps\": %.1f, \"p50_ms\": %.4f, \"p99_ms\": %.4f, \"adds\": %d}",
                        s.what(), s.qps(), s.p50ms(), s.p99ms(), s.adds())).toList()));
        System.exit(0);
    }

    /** The HTTP measurement by wrk (its latency percentiles), with one thread adding items meanwhile. */
    static Stats wrk(String what, double seconds, int connections, Retriever retriever, AtomicLong addCounter,
                     String base, Path work, String kind) throws Exception {
        Path script = work.resolve(kind + ".lua");
        String request = kind.equals("vector")
                ? "local bodies = {}\n"
                        + "for line in io.lines(\"" + work.resolve("vector-bodies.txt").toAbsolutePath() + "\") do\n"
                        + "  bodies[#bodies + 1] = line\nend\nlocal i = 0\n"
                        + "request = function()\n  i = i + 1\n"
                        + "  return wrk.format(\"POST\", \"/api/search/vector\", "
                        + "{[\"Content-Type\"] = \"application/json\"}, bodies[(i % #bodies) + 1])\nend\n"
                : "local f = io.open(\"" + work.resolve("query.png").toAbsolutePath() + "\", \"rb\")\n"
                        + "local png = f:read(\"*all\")\nf:close()\n"
                        + "request = function()\n  return wrk.format(\"POST\", \"/api/search/image?k=10\", "
                        + "{[\"Content-Type\"] = \"image/png\"}, png)\nend\n";
        Files.writeString(script, request + "done = function(summary, latency, requests)\n"
                + "  io.write(string.format(\"WRK %d %d %d %.0f %.0f\\n\", summary.requests, summary.duration, "
                + "summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write "
                + "+ summary.errors.timeout, latency:percentile(50), latency:percentile(99)))\nend\n");
        AtomicBoolean stop = new AtomicBoolean();
        long addsBefore = addCounter.get();
        Thread adder = adder(retriever, addCounter, stop);
        adder.start();
        Process p = new ProcessBuilder("wrk", "-t2", "-c" + connections, "-d" + (int) Math.ceil(seconds) + "s",
                "--timeout", "60s",
                "-s", script.toString(), base).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        stop.set(true);
        adder.join();
        String line = output.lines().filter(l -> l.startsWith("WRK ")).findFirst().orElseThrow(
                () -> new IllegalStateException("wrk failed: " + output));
        String[] f = line.split(" ");
        long requests = Long.parseLong(f[1]);
        double duration = Long.parseLong(f[2]) / 1e6;
        if (Long.parseLong(f[3]) > 0) {
            throw new IllegalStateException(what + ": " + f[3] + " failed requests");
        }
        return new Stats(what, requests / duration, Double.parseDouble(f[4]) / 1e3, Double.parseDouble(f[5]) / 1e3,
                requests, addCounter.get() - addsBefore);
    }

    static Thread adder(Retriever retriever, AtomicLong addCounter, AtomicBoolean stop) {
        return new Thread(() -> {
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
    }

    interface Call {
        void run(int i) throws Exception;
    }

    /** Runs the call from `threads` threads for `seconds`, with one thread adding items meanwhile. */
    static Stats run(String what, double seconds, int threads, Retriever retriever, AtomicLong addCounter, Call call)
            throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<long[]> latencies = new ArrayList<>();
        List<Thread> workers = new ArrayList<>();
        AtomicLong failures = new AtomicLong();
        AtomicReference<Exception> firstFailure = new AtomicReference<>();
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
                        firstFailure.compareAndSet(null, e);
                    }
                    lat[++count] = System.nanoTime() - t0;
                }
                lat[0] = count;
            });
            workers.add(th);
        }
        long addsBefore = addCounter.get();
        Thread adder = adder(retriever, addCounter, stop);
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
            throw new IllegalStateException(what + ": " + failures.get() + " failed calls", firstFailure.get());
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

    static long heapUsed() {
        return java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
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
