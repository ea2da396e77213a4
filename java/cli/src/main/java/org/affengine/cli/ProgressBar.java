package org.affengine.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A one-line progress bar with throughput and ETA on stderr. On a terminal it redraws in place; in a log (no console),
 * or while several bars run at once (parallel trainings), it prints a line every 10%.
 */
final class ProgressBar implements AutoCloseable {
    private static final int WIDTH = 30;
    private final String label;
    private final String unit;
    private final long total;
    private final PrintStream out;
    private static final AtomicInteger OPEN = new AtomicInteger();
    private final boolean console = System.console() != null;
    private boolean terminal;
    private final long start = System.nanoTime();
    private long done;
    private long lastDraw;
    private int lastDecile = -1;
    private String status = "";

    ProgressBar(String label, long total, String unit) {
        this(label, total, unit, System.err);
    }

    ProgressBar(String label, long total, String unit, PrintStream out) {
        this.label = label;
        this.total = Math.max(1, total);
        this.unit = unit;
        this.out = out;
        int open = OPEN.incrementAndGet();
        terminal = console && open == 1;
    }

    synchronized void advance(long n) {
        done += n;
        terminal = terminal && OPEN.get() == 1;
        long now = System.nanoTime();
        int decile = (int) (10 * done / total);
        if (terminal ? now - lastDraw > 100_000_000L || done >= total : decile != lastDecile) {
            lastDraw = now;
            lastDecile = decile;
            draw(now);
        }
    }

    /** Text shown after the bar from now on (e.g. the current loss). */
    synchronized void status(String text) {
        status = text;
    }

    private void draw(long now) {
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        double rate = done / seconds;
        double eta = rate > 0 ? (total - done) / rate : 0;
        int filled = (int) (WIDTH * Math.min(1.0, (double) done / total));
        String bar = "=".repeat(filled) + (filled < WIDTH ? ">" + " ".repeat(WIDTH - filled - 1) : "");
        String line = String.format(Locale.ROOT, "%s [%s] %3d%% %d/%d %s %s/s ETA %s%s", label, bar,
                100 * done / total, done, total, unit, human(rate), time(eta), status.isEmpty() ? "" : " " + status);
        out.print(terminal ? "\r" + line : line + "\n");
        out.flush();
    }

    static String human(double v) {
        if (v >= 1e6) {
            return String.format(Locale.ROOT, "%.1fM", v / 1e6);
        }
        if (v >= 1e3) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String time(double seconds) {
        long s = Math.round(seconds);
        return s >= 60 ? (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s" : s + "s";
    }

    @Override
    public synchronized void close() {
        OPEN.decrementAndGet();
        if (terminal) {
            out.println();
        }
    }
}
