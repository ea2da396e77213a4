package org.affengine.cli;

import static org.affengine.cli.AffCliTest.aff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.affengine.data.FashionMnist;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExtractCommandTest {
    @TempDir
    Path dir;

    /** Train (briefly), extract 200 test images into a store, report; a rerun resumes a complete store. */
    @Test
    void extractEndToEnd() {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEBIAN_DIR), "dataset-fashion-mnist not installed");
        String[] args = {"extract", "--limit", "200", "--train-steps", "10", "--models", "resnet-gem,delf",
            "--weights", dir.resolve("w").toString(), "--out", dir.resolve("store").toString()};
        AffCliTest.Run first = aff(args);
        assertEquals(0, first.code(), first.err());
        assertTrue(first.out().contains("| resnet-gem | global | 128 |") && first.out().contains("| delf | local |"),
                first.out());
        assertTrue(Files.exists(dir.resolve("store/manifest.json")));
        AffCliTest.Run again = aff(args);
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("resumed"), again.out());
        assertEquals(1, aff("extract", "--split", "validation").code());
    }

    static java.util.Map<String, byte[]> files(Path root) throws java.io.IOException {
        java.util.Map<String, byte[]> out = new java.util.TreeMap<>();
        try (java.util.stream.Stream<Path> s = Files.list(root)) {
            for (Path p : s.toList()) {
                out.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    /**
     * `aff extract` killed with -9 mid-run, then run again, leaves exactly the store of an uninterrupted run. Every
     * run is a fresh process: LibTorch's rounding depends on the native work a process did before (after this
     * JVM's FAISS tests the extracted floats differ in their last bits), so only like processes compare byte for
     * byte.
     */
    @Test
    void killNineThenResumeGivesTheSameStore() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEBIAN_DIR), "dataset-fashion-mnist not installed");
        Path reference = dir.resolve("reference");
        Process first = extract(reference);
        assertTrue(first.waitFor(300, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, first.exitValue());

        Path store = dir.resolve("killed");
        Process p = extract(store);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && !hasShards(store, 1)) {
            Thread.sleep(10);
        }
        p.destroyForcibly();  // SIGKILL
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(hasShards(store, 1) && !hasShards(store, 6), "killed mid-run");

        Process resumed = extract(store);
        assertTrue(resumed.waitFor(300, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, resumed.exitValue());
        java.util.Map<String, byte[]> want = files(reference);
        java.util.Map<String, byte[]> got = files(store);
        assertEquals(want.keySet(), got.keySet());
        for (String f : want.keySet()) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(want.get(f), got.get(f), f);
        }
    }

    /** `aff extract` of 6,000 test images into store, in a new JVM (the first one trains the shared weights). */
    private Process extract(Path store) throws java.io.IOException {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-cp",
                System.getProperty("java.class.path"), AffCli.class.getName(), "extract", "--limit", "6000",
                "--train-steps", "5", "--weights", dir.resolve("w").toString(), "--out", store.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    static boolean hasShards(Path store, int n) throws java.io.IOException {
        Path manifest = store.resolve("manifest.json");
        if (!Files.exists(manifest)) {
            return false;
        }
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(manifest.toFile()).get("shards")
                    .size() >= n;
        } catch (java.io.IOException e) {
            return false;  // being replaced right now
        }
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
