package org.affengine.serve;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * The service's counters and latency histograms, exposed in the Prometheus text format: requests by route and
 * status, request seconds by route (cumulative buckets), and gauges read when scraped (gallery size).
 */
final class Metrics {
    /** Upper bounds of the latency buckets, seconds. */
    static final double[] BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

    private static final class Histogram {
        final AtomicLongArray counts = new AtomicLongArray(BUCKETS.length + 1);
        final AtomicLong sumNanos = new AtomicLong();
    }

    private final Map<String, AtomicLong> requests = new ConcurrentHashMap<>();
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    private final Map<String, LongSupplier> gauges = new ConcurrentHashMap<>();

    void gauge(String name, LongSupplier value) {
        gauges.put(name, value);
    }

    void record(String route, int status, long nanos) {
        requests.computeIfAbsent(route + "\u0000" + status, r -> new AtomicLong()).incrementAndGet();
        Histogram h = latency.computeIfAbsent(route, r -> new Histogram());
        double seconds = nanos / 1e9;
        int b = 0;
        while (b < BUCKETS.length && seconds > BUCKETS[b]) {
            b++;
        }
        h.counts.incrementAndGet(b);
        h.sumNanos.addAndGet(nanos);
    }

    String prometheus() {
        StringBuilder out = new StringBuilder();
        out.append("# HELP aff_requests_total HTTP requests by route and status.\n");
        out.append("# TYPE aff_requests_total counter\n");
        requests.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            String[] parts = e.getKey().split("\u0000");
            out.append(String.format(Locale.ROOT, "aff_requests_total{route=\"%s\",status=\"%s\"} %d%n", parts[0],
                    parts[1], e.getValue().get()));
        });
        out.append("# HELP aff_request_seconds Request latency by route.\n");
        out.append("# TYPE aff_request_seconds histogram\n");
        latency.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            Histogram h = e.getValue();
            long cumulative = 0;
            for (int b = 0; b <= BUCKETS.length; b++) {
                cumulative += h.counts.get(b);
                String le = b < BUCKETS.length ? String.valueOf(BUCKETS[b]) : "+Inf";
                out.append(String.format(Locale.ROOT, "aff_request_seconds_bucket{route=\"%s\",le=\"%s\"} %d%n",
                        e.getKey(), le, cumulative));
            }
            out.append(String.format(Locale.ROOT, "aff_request_seconds_sum{route=\"%s\"} %.6f%n", e.getKey(),
                    h.sumNanos.get() / 1e9));
            out.append(String.format(Locale.ROOT, "aff_request_seconds_count{route=\"%s\"} %d%n", e.getKey(),
                    cumulative));
        });
        gauges.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            out.append("# TYPE ").append(e.getKey()).append(" gauge\n");
            out.append(e.getKey()).append(' ').append(e.getValue().getAsLong()).append('\n');
        });
        return out.toString();
    }
}
