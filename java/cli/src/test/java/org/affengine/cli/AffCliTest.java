package org.affengine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.affengine.io.IntMatrix;
import org.affengine.io.VectorFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end, in-process, on real files: generate, build, search, ground truth, recall, errors. */
class AffCliTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static Run aff(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = AffCli.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static double recallOf(Run run) {
        Matcher m = Pattern.compile("\"recall\": ([0-9.]+)").matcher(run.out());
        assertTrue(m.find(), run.out());
        return Double.parseDouble(m.group(1));
    }

    String p(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    void buildSearchAndScoreExactAndHnsw() throws Exception {
        assertEquals(0, aff("generate", "--n", "20000", "--d", "32", "--out", p("base.fvecs")).code());
        assertEquals(0, aff("generate", "--n", "200", "--d", "32", "--sample-seed", "9", "--out", p("q.npy")).code());
        assertEquals(0, aff("groundtruth", "--base", p("base.fvecs"), "--queries", p("q.npy"), "--k", "10",
                "--out", p("gt.ivecs")).code());

        assertEquals(0, aff("build", "--base", p("base.fvecs"), "--out", p("exact.idx"), "--storage", "fp32").code());
        Run search = aff("search", "--index", p("exact.idx"), "--queries", p("q.npy"), "--k", "10", "--batch", "64",
                "--out", p("exact.ivecs"), "--json", p("exact.json"));
        assertEquals(0, search.code(), search.err());
        assertTrue(search.out().contains("QPS"));
        assertEquals(1.0, recallOf(aff("recall", "--results", p("exact.ivecs"), "--truth", p("gt.ivecs"))), 1e-9);
        String json = Files.readString(dir.resolve("exact.json"));
        assertTrue(json.startsWith("{\"results\": [") && json.contains("\"query\": 199"), json.substring(0, 80));

        assertEquals(0, aff("build", "--base", p("base.fvecs"), "--out", p("hnsw.idx"), "--type", "faiss",
                "--factory", "HNSW32").code());
        assertEquals(0, aff("search", "--index", p("hnsw.idx"), "--queries", p("q.npy"), "--k", "10", "--param",
                "efSearch=64", "--out", p("hnsw.npy")).code());
        double hnsw = recallOf(aff("recall", "--results", p("hnsw.npy"), "--truth", p("gt.ivecs"), "--k", "10"));
        assertTrue(hnsw > 0.9 && hnsw <= 1.0, "HNSW recall " + hnsw);

        assertEquals(0, aff("build", "--base", p("base.fvecs"), "--out", p("ivf.idx"), "--type", "faiss",
                "--factory", "IVF64,PQ8", "--train-size", "5000", "--metric", "l2").code());
        Run info = aff("info", "--index", p("ivf.idx"));
        assertEquals(0, info.code());
        assertTrue(info.out().contains("IVF64,PQ8") && info.out().contains("20000 vectors"), info.out());
        IntMatrix gt = VectorFiles.readInts(dir.resolve("gt.ivecs"));
        assertEquals(200, gt.rows());
        assertEquals(10, gt.dim());
    }

    @Test
    void everyFailureIsOneLineAndNonZero() throws Exception {
        aff("generate", "--n", "100", "--d", "8", "--out", p("base.fvecs"));
        aff("generate", "--n", "10", "--d", "4", "--out", p("q4.fvecs"));
        aff("build", "--base", p("base.fvecs"), "--out", p("x.idx"));
        Files.write(dir.resolve("short.fvecs"), new byte[] {8, 0, 0, 0, 1, 2});
        Files.writeString(dir.resolve("text.npy"), "hello");
        String[][] failures = {
            {"search", "--index", p("x.idx"), "--queries", p("q4.fvecs")},           // dimension mismatch
            {"search", "--index", p("x.idx"), "--queries", p("base.fvecs"), "--k", "0"},
            {"search", "--index", p("x.idx"), "--queries", p("base.fvecs"), "--k", "101"},
            {"search", "--index", p("base.fvecs"), "--queries", p("base.fvecs")},    // not an index
            {"search", "--index", p("missing.idx"), "--queries", p("base.fvecs")},
            {"build", "--base", p("short.fvecs"), "--out", p("y.idx")},              // truncated vectors
            {"build", "--base", p("text.npy"), "--out", p("y.idx")},                 // not .npy
            {"build", "--base", p("base.fvecs"), "--out", p("y.idx"), "--type", "faiss", "--factory", "Nope"},
            {"build", "--base", p("base.fvecs"), "--out", p("y.idx"), "--metric", "cos2"},
            {"recall", "--results", p("base.fvecs"), "--truth", p("base.fvecs")},
        };
        for (String[] args : failures) {
            Run run = aff(args);
            assertEquals(1, run.code(), String.join(" ", args) + " -> " + run.err());
            assertTrue(run.err().startsWith("aff: error: ") && run.err().strip().lines().count() == 1,
                    String.join(" ", args) + " -> " + run.err());
        }
        assertEquals(2, aff("build", "--no-such-flag").code());
        assertTrue(Files.notExists(dir.resolve("y.idx")));
    }
}
