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
}
