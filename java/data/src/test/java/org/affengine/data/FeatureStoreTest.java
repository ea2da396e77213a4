package org.affengine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FeatureStoreTest {
    @TempDir
    Path dir;

    static final int SIZE = 45;
    static final int SHARD = 8;
    static final List<FeatureSpec> MODELS = List.of(FeatureSpec.global("cnn", 8, Map.of("input", "28")),
            FeatureSpec.local("delf", 4, 6, Map.of("input", "28")));

    /** Features that depend on the image index only, so every run computes the same ones. */
    static Features features(int i) {
        float[] g = new float[8];
        for (int k = 0; k < 8; k++) {
            g[k] = (float) Math.sin(i * 0.7 + k);
        }
        int n = i % 5;
        float[] rows = new float[n * 4];
        float[] pos = new float[n * 3];
        for (int k = 0; k < rows.length; k++) {
            rows[k] = (float) Math.cos(i + k * 0.3);
        }
        for (int k = 0; k < pos.length; k++) {
            pos[k] = i + k;
        }
        return new Features(Map.of("cnn", g), Map.of("delf", new Features.LocalSet(n, rows, pos)));
    }

    static void writeAll(Path store, long pauseMillis) throws Exception {
        try (FeatureStoreWriter w = FeatureStoreWriter.open(store, "synthetic", Dataset.Split.TEST, SIZE, SHARD,
                MODELS)) {
            for (int i = w.nextIndex(); i < SIZE; i++) {
                w.append(features(i));
                if (pauseMillis > 0 && (i + 1) % SHARD == 0) {
                    Thread.sleep(pauseMillis);
                }
            }
        }
    }

    /** Run in a separate JVM by the kill test: writes slowly so it can be killed mid-way. */
    public static final class SlowWriter {
        public static void main(String[] args) throws Exception {
            writeAll(Path.of(args[0]), 300);
        }
    }

    static Map<String, byte[]> files(Path root) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : s.toList()) {
                out.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    @Test
    void roundTripWithRandomAccess() throws Exception {
        Path store = dir.resolve("store");
        writeAll(store, 0);
        FeatureStore s = FeatureStore.open(store, MODELS);
        assertEquals(SIZE, s.size());
        for (int i : new int[] {0, 7, 8, 33, 44}) {
            Features f = features(i);
            float[] g = s.global("cnn", i);
            for (int k = 0; k < 8; k++) {
                assertEquals(f.global().get("cnn")[k], g[k], 1e-3f, "image " + i);
            }
            assertEquals(Float.floatToFloat16(f.global().get("cnn")[3]), s.globalHalves("cnn", i).get(3));
            Features.LocalSet l = s.local("delf", i);
            assertEquals(i % 5, l.count());
            assertArrayEquals(f.local().get("delf").positions(), l.positions());
            for (int k = 0; k < l.rows().length; k++) {
                assertEquals(f.local().get("delf").rows()[k], l.rows()[k], 1e-3f);
            }
        }
        assertThrows(IndexOutOfBoundsException.class, () -> s.global("cnn", SIZE));
        assertThrows(IllegalArgumentException.class, () -> s.global("delf", 0));
        assertThrows(IOException.class, () -> FeatureStore.open(store, List.of(MODELS.get(0))));
    }

    /** A writer killed with -9 mid-run resumes and ends with exactly the files of an uninterrupted run. */
    @Test
    void killNineThenResumeGivesTheSameStore() throws Exception {
        Path reference = dir.resolve("reference");
        writeAll(reference, 0);
        Path store = dir.resolve("killed");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), SlowWriter.class.getName(), store.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.exists(store.resolve("manifest.json"))
                    && FeatureStoreFormat.readManifest(store).shards().size() >= 2) {
                break;
            }
            Thread.sleep(20);
        }
        p.destroyForcibly();  // SIGKILL
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        int listed = FeatureStoreFormat.readManifest(store).complete();
        assertTrue(listed >= 2 * SHARD && listed < SIZE, "killed after " + listed + " images");
        assertThrows(IOException.class, () -> FeatureStore.open(store));  // incomplete: refused

        try (FeatureStoreWriter w = FeatureStoreWriter.open(store, "synthetic", Dataset.Split.TEST, SIZE, SHARD,
                MODELS)) {
            assertEquals(listed, w.nextIndex());
        }
        writeAll(store, 0);
        Map<String, byte[]> want = files(reference);
        Map<String, byte[]> got = files(store);
        assertEquals(want.keySet(), got.keySet());
        for (String f : want.keySet()) {
            assertArrayEquals(want.get(f), got.get(f), f);
        }
        FeatureStore.open(store, MODELS);
    }

    /** The native core's reader sees exactly what the Java reader sees, and refuses the same bad stores. */
    @Test
    void nativeReaderAgreesWithTheJavaReader() throws Exception {
        Path store = dir.resolve("store");
        writeAll(store, 0);
        FeatureStore java = FeatureStore.open(store, MODELS);
        try (org.affengine.store.NativeFeatureStore nat = org.affengine.store.NativeFeatureStore.open(store)) {
            assertEquals(SIZE, nat.size());
            assertEquals(8, nat.dim("cnn"));
            assertTrue(nat.isLocal("delf"));
            for (int i = 0; i < SIZE; i++) {
                assertArrayEquals(java.global("cnn", i), nat.global("cnn", i), "image " + i);
                float[][] l = nat.local("delf", i);
                assertArrayEquals(java.local("delf", i).rows(), l[0], "image " + i);
                assertArrayEquals(java.local("delf", i).positions(), l[1], "image " + i);
            }
            assertThrows(IllegalArgumentException.class, () -> nat.global("cnn", SIZE));
            assertThrows(IllegalArgumentException.class, () -> nat.global("nope", 0));
        }
        Path shard = store.resolve("delf-00003.rows.f16");
        byte[] b = Files.readAllBytes(shard);
        b[1] ^= 4;
        Files.write(shard, b);
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class,
                () -> org.affengine.store.NativeFeatureStore.open(store));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
        assertThrows(java.io.UncheckedIOException.class,
                () -> org.affengine.store.NativeFeatureStore.open(dir.resolve("missing")));
    }

    @Test
    void corruptionAndMismatchesAreRefused() throws Exception {
        Path store = dir.resolve("store");
        writeAll(store, 0);
        assertThrows(IOException.class, () -> FeatureStoreWriter.open(store, "synthetic", Dataset.Split.TEST, SIZE + 1,
                SHARD, MODELS));
        assertThrows(IOException.class, () -> FeatureStoreWriter.open(store, "other", Dataset.Split.TEST, SIZE, SHARD,
                MODELS));
        Path shard = store.resolve("cnn-00002.f16");
        byte[] b = Files.readAllBytes(shard);
        b[5] ^= 1;
        Files.write(shard, b);
        IOException e = assertThrows(IOException.class, () -> FeatureStore.open(store));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
        Files.write(shard, java.util.Arrays.copyOf(b, b.length - 2));
        e = assertThrows(IOException.class, () -> FeatureStore.open(store));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        try (FeatureStoreWriter w = FeatureStoreWriter.open(dir.resolve("bad"), "s", Dataset.Split.TEST, 3, 2,
                MODELS)) {
            Features wrong = new Features(Map.of("cnn", new float[7]), Map.of("delf",
                    new Features.LocalSet(0, new float[0], new float[0])));
            assertThrows(IllegalArgumentException.class, () -> w.append(wrong));
            float[] nan = new float[8];
            nan[2] = Float.NaN;
            assertThrows(IllegalArgumentException.class, () -> w.append(new Features(Map.of("cnn", nan),
                    Map.of("delf", new Features.LocalSet(0, new float[0], new float[0])))));
            assertEquals(0, w.nextIndex());
        }
    }
}
