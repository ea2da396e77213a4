package org.affengine.cli;

import static org.affengine.cli.AffCliTest.aff;
import static org.affengine.cli.ExtractCommandTest.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.affengine.data.FashionMnist;
import org.affengine.train.ModelBundle;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExperimentCommandTest {
    @TempDir
    Path dir;

    static Map<String, Double> mapByRow(Path results) throws Exception {
        JsonNode root = new ObjectMapper().readTree(results.toFile());
        Map<String, Double> out = new HashMap<>();
        for (JsonNode row : root.path("rows")) {
            out.put(row.path("id").asText(), row.path("mapAll").asDouble());
        }
        return out;
    }

    /**
     * The quick experiment end to end on real Fashion-MNIST: gallery models trained, stores extracted, every setting
     * trained and scored, all outputs written; asymmetric AFF lands far above chance (0.1 for ten balanced classes)
     * and above the untrained query model. Then the experiment is deterministic for a seed.
     */
    @Test
    void quickExperimentEndToEndAndDeterministic() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEBIAN_DIR), "dataset-fashion-mnist not installed");
        Path out = dir.resolve("quick");
        AffCliTest.Run run = aff("experiment", "--quick", "--out", out.toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("| AFF: transformer mixer"), run.out());
        for (String f : new String[] {"table.md", "results.json", "report.html", "curves.png", "bundle/bundle.json",
            "bundle/model.safetensors"}) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        byte[] png = Files.readAllBytes(out.resolve("curves.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));
        assertTrue(run.err().contains("train aff ["), "progress bars on stderr");

        Map<String, Double> map = mapByRow(out.resolve("results.json"));
        assertEquals(12, map.size(), map.toString());
        assertTrue(map.get("aff") > 0.4, map.toString());
        assertTrue(map.get("aff") > map.get("untrained") + 0.2, map.toString());
        assertTrue(map.get("symmetric:mixer") > 0.4, map.toString());
        ModelBundle.Loaded bundle = ModelBundle.load(out.resolve("bundle"));
        assertEquals("transformer", bundle.meta().encoder().kind());

        // Deterministic for a seed: two short runs on the same stores agree exactly.
        String[] small = {"experiment", "--quick", "--steps", "15", "--train-limit", "1000", "--test-limit", "300",
            "--weights", out.resolve("models").toString(), "--features", out.resolve("features").toString()};
        AffCliTest.Run a = aff(concat(small, "--out", dir.resolve("a").toString()));
        AffCliTest.Run b = aff(concat(small, "--out", dir.resolve("b").toString()));
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        assertEquals(mapByRow(dir.resolve("a/results.json")), mapByRow(dir.resolve("b/results.json")));
        assertArrayEquals(Files.readAllBytes(dir.resolve("a/bundle/model.safetensors")),
                Files.readAllBytes(dir.resolve("b/bundle/model.safetensors")));

        assertEquals(1, aff("experiment", "--quick", "--test-limit", "1", "--out", dir.resolve("c").toString())
                .code());
    }
}
