package org.affengine.cli;

import static org.affengine.cli.AffCliTest.aff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.affengine.eval.RevisitopGround;
import org.affengine.io.FloatMatrix;
import org.affengine.io.IntMatrix;
import org.affengine.io.VectorFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalCommandTest {
    @TempDir
    Path dir;

    JsonNode json(AffCliTest.Run run) throws Exception {
        assertEquals(0, run.code(), run.err());
        return new ObjectMapper().readTree(run.out());
    }

    /** Two queries over four gallery images: rankings as .npy columns, as .ivecs rows, and straight from vectors. */
    @Test
    void revisitopFromRanksAndFromVectors() throws Exception {
        RevisitopGround gnd = new RevisitopGround(List.of("g0", "g1", "g2", "g3"), List.of("q0", "q1"), List.of(
                new RevisitopGround.Query(new int[] {0}, new int[] {1}, new int[] {2}, new double[] {0, 0, 5, 5}),
                new RevisitopGround.Query(new int[] {3}, new int[] {}, new int[] {}, null)));
        Path gndFile = dir.resolve("gnd.pkl");
        gnd.write(gndFile);
        // Query 0 ranks 2, 0, 3, 1 (junk, easy, other, hard); query 1 ranks 3 first.
        int[][] rankings = {{2, 0, 3, 1}, {3, 0, 1, 2}};
        int[] columns = new int[8];
        int[] rows = new int[8];
        for (int q = 0; q < 2; q++) {
            for (int i = 0; i < 4; i++) {
                columns[i * 2 + q] = rankings[q][i];
                rows[q * 4 + i] = rankings[q][i];
            }
        }
        VectorFiles.writeInts(dir.resolve("ranks.npy"), new IntMatrix(4, 2, columns));
        VectorFiles.writeInts(dir.resolve("ranks.ivecs"), new IntMatrix(2, 4, rows));
        for (String ranks : new String[] {"ranks.npy", "ranks.ivecs"}) {
            JsonNode r = json(aff("eval", "revisitop", "--gnd", gndFile.toString(), "--ranks",
                    dir.resolve(ranks).toString()));
            assertEquals(2, r.get("queries").asInt());
            assertEquals(1.0, r.get("easy").get("mAP").asDouble(), 1e-12);
            // Medium, query 0: positives at 1 and 3 less one junk -> 0 and 2: AP 19/24; query 1: AP 1.
            assertEquals((19.0 / 24.0 + 1.0) / 2, r.get("medium").get("mAP").asDouble(), 1e-12);
            assertEquals(0.25, r.get("hard").get("mAP").asDouble(), 1e-12);  // query 1 has no hard positives
        }
        // Vectors: gallery image i is the unit vector e_i; each query equals its easy positive.
        float[] gallery = new float[16];
        for (int i = 0; i < 4; i++) {
            gallery[i * 4 + i] = 1f;
        }
        VectorFiles.writeFloats(dir.resolve("gallery.npy"), new FloatMatrix(4, 4, gallery));
        VectorFiles.writeFloats(dir.resolve("queries.npy"), new FloatMatrix(2, 4,
                new float[] {1, 0.5f, 0, 0, 0, 0, 0, 1}));
        VectorFiles.writeFloats(dir.resolve("distractors.npy"), new FloatMatrix(1, 4, new float[] {0.9f, 0, 0, 0}));
        JsonNode v = json(aff("eval", "revisitop", "--gnd", gndFile.toString(), "--queries",
                dir.resolve("queries.npy").toString(), "--gallery", dir.resolve("gallery.npy").toString()));
        assertEquals(1.0, v.get("medium").get("mAP").asDouble(), 1e-12);
        // A distractor scoring 0.9 outranks the hard positive of query 0 (0.5) but not its easy one (1.0).
        JsonNode d = json(aff("eval", "revisitop", "--gnd", gndFile.toString(), "--queries",
                dir.resolve("queries.npy").toString(), "--gallery", dir.resolve("gallery.npy").toString(),
                "--distractors", dir.resolve("distractors.npy").toString()));
        assertTrue(d.get("medium").get("mAP").asDouble() < 1.0);
        assertEquals(1.0, d.get("easy").get("mAP").asDouble(), 1e-12);

        // Tied scores: gallery 1 and 2 are the same vector; exact search ranks the smaller id first, every time.
        float[] tied = {0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
        VectorFiles.writeFloats(dir.resolve("tied.npy"), new FloatMatrix(4, 4, tied));
        VectorFiles.writeFloats(dir.resolve("q_tied.npy"), new FloatMatrix(2, 4,
                new float[] {1, 0, 0, 0, 1, 0, 0, 0}));
        // Query 0: positives {0 easy, 1 hard}, junk {2}; ranking 1, 2, 0/3 tied at 0 -> 1, 2, 0, 3.
        JsonNode t = json(aff("eval", "revisitop", "--gnd", gndFile.toString(), "--queries",
                dir.resolve("q_tied.npy").toString(), "--gallery", dir.resolve("tied.npy").toString()));
        // Hard (positive 1 first, junk 2 and easy 0 removed): query 0 AP 1; query 1 has no hard positive.
        assertEquals(1.0, t.get("hard").get("mAP").asDouble(), 1e-12);
        // Medium for query 0: positives 1 and 0 at 0 and 2, junk 2 at 1 -> 0 and 1: AP 1. Query 1: positive 3 at
        // position 3 of 1, 2, 0, 3: AP (0/3 + 1/4) / 2 = 0.125.
        assertEquals((1.0 + 0.125) / 2, t.get("medium").get("mAP").asDouble(), 1e-12);

        AffCliTest.Run wrong = aff("eval", "revisitop", "--gnd", gndFile.toString(), "--ranks",
                dir.resolve("gallery.npy").toString());
        assertEquals(1, wrong.code());
        assertTrue(wrong.err().startsWith("aff: error:"), wrong.err());
        Files.write(dir.resolve("broken.pkl"), new byte[] {(byte) 0x80, 2, 'c', 'x'});
        assertEquals(1, aff("eval", "revisitop", "--gnd", dir.resolve("broken.pkl").toString(), "--ranks",
                dir.resolve("ranks.npy").toString()).code());
    }

    @Test
    void gldv2AndClasses() throws Exception {
        Path solution = dir.resolve("solution.csv");
        Files.writeString(solution, "id,images,Usage\nq1,a b,Public\nq2,c,Private\n");
        Path predictions = dir.resolve("predictions.csv");
        Files.writeString(predictions, "id,images\nq1,a b\nq2,x c\n");
        JsonNode g = json(aff("eval", "gldv2", "--solution", solution.toString(), "--predictions",
                predictions.toString()));
        assertEquals(1.0, g.get("public_mAP@100").asDouble(), 1e-12);
        assertEquals(0.5, g.get("private_mAP@100").asDouble(), 1e-12);

        float[] vectors = {1, 0, 0.9f, 0.1f, 0, 1, 0.1f, 0.9f};
        VectorFiles.writeFloats(dir.resolve("v.npy"), new FloatMatrix(4, 2, vectors));
        VectorFiles.writeInts(dir.resolve("labels.npy"), new IntMatrix(4, 1, new int[] {0, 0, 1, 1}));
        JsonNode c = json(aff("eval", "classes", "--gallery", dir.resolve("v.npy").toString(), "--labels",
                dir.resolve("labels.npy").toString()));
        assertEquals(4, c.get("queries").asInt());
        assertEquals(1.0, c.get("mAP@all").asDouble(), 1e-12);
        assertEquals(1.0, c.get("mP@1").asDouble(), 1e-12);
    }
}
