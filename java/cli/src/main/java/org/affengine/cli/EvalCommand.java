package org.affengine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.affengine.eval.ClassEval;
import org.affengine.eval.Gldv2Eval;
import org.affengine.eval.RevisitopEval;
import org.affengine.eval.RevisitopGround;
import org.affengine.index.ExactIndex;
import org.affengine.index.Metric;
import org.affengine.index.SearchResult;
import org.affengine.io.FloatMatrix;
import org.affengine.io.IntMatrix;
import org.affengine.io.VectorFiles;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "eval", mixinStandardHelpOptions = true, description = "Score retrieval results: revisitop (ROxford/RParis protocol), GLDv2 mAP@100, "
        + "class-level mAP. Prints JSON.",
        subcommands = {EvalCommand.Revisitop.class, EvalCommand.Gldv2.class, EvalCommand.Classes.class})
final class EvalCommand {

    static void print(Object value) throws Exception {
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value));
    }

    static int[] flatLabels(Path path) throws Exception {
        IntMatrix m = VectorFiles.readInts(path);
        return m.data();
    }

    @Command(name = "revisitop", mixinStandardHelpOptions = true, description = "Easy / medium / hard mAP and mP@1,5,10 as the revisitop reference "
            + "computes them, from rankings or straight from query and gallery vectors.")
    static final class Revisitop implements Callable<Integer> {
        @Option(names = "--gnd", required = true, description = "Ground truth: gnd_*.pkl as published, or JSON.")
        Path gnd;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Source source;

        static final class Source {
            @Option(names = "--ranks", description = ".npy int array (gallery size, queries), each column a ranking "
                    + "as the reference code takes it; or .ivecs with one ranking per query (as `aff search --out`).")
            Path ranks;

            @ArgGroup(exclusive = false)
            Vectors vectors;
        }

        static final class Vectors {
            @Option(names = "--queries", required = true, description = "Query vectors, one per gnd query.")
            Path queries;

            @Option(names = "--gallery", required = true, description = "Gallery vectors, one per imlist entry.")
            Path gallery;

            @Option(names = "--distractors", description = "Extra gallery vectors that are never positive (+1M).")
            Path distractors;

            @Option(names = "--metric", defaultValue = "ip", description = "ip (cosine on normalised vectors) or l2.")
            String metric;
        }

        @Override
        public Integer call() throws Exception {
            RevisitopGround truth = RevisitopGround.read(gnd);
            int nq = truth.queries().size();
            int[][] rankings = source.ranks != null ? readRankings(source.ranks, nq)
                    : rank(source.vectors, truth.imlist().size(), nq);
            RevisitopEval.Result r = RevisitopEval.evaluate(rankings, truth);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("queries", nq);
            out.put("easy", scores(r.easy()));
            out.put("medium", scores(r.medium()));
            out.put("hard", scores(r.hard()));
            print(out);
            return 0;
        }

        static Map<String, Object> scores(RevisitopEval.Scores s) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mAP", nullIfNaN(s.map()));
            for (int k : RevisitopEval.KAPPAS) {
                m.put("mP@" + k, nullIfNaN(s.mp(k)));
            }
            return m;
        }

        static int[][] readRankings(Path path, int nq) throws Exception {
            IntMatrix m = VectorFiles.readInts(path);
            boolean perColumn = path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy");
            int queries = perColumn ? m.dim() : m.rows();
            if (queries != nq) {
                throw new IllegalArgumentException(path + " holds rankings for " + queries + " queries, the ground "
                        + "truth has " + nq + (perColumn ? " (expected shape (gallery, queries))" : ""));
            }
            int length = perColumn ? m.rows() : m.dim();
            int[][] out = new int[nq][length];
            for (int q = 0; q < nq; q++) {
                for (int i = 0; i < length; i++) {
                    out[q][i] = perColumn ? m.get(i, q) : m.get(q, i);
                }
            }
            return out;
        }

        static int[][] rank(Vectors v, int gallerySize, int nq) throws Exception {
            FloatMatrix q = VectorFiles.readFloats(v.queries);
            FloatMatrix g = VectorFiles.readFloats(v.gallery);
            if (q.rows() != nq || g.rows() != gallerySize) {
                throw new IllegalArgumentException(q.rows() + " query and " + g.rows() + " gallery vectors for "
                        + nq + " queries and " + gallerySize + " gallery images in the ground truth");
            }
            if (q.dim() != g.dim()) {
                throw new IllegalArgumentException("query dimension " + q.dim() + " differs from gallery dimension "
                        + g.dim());
            }
            try (ExactIndex index = new ExactIndex(g.dim(), Metric.parse(v.metric))) {
                index.add(g.data(), range(0, g.rows()));
                if (v.distractors != null) {
                    FloatMatrix dis = VectorFiles.readFloats(v.distractors);
                    if (dis.dim() != g.dim()) {
                        throw new IllegalArgumentException("distractor dimension " + dis.dim() + " differs from "
                                + g.dim());
                    }
                    // Ids past the gallery: never in any positive or junk list.
                    index.add(dis.data(), range(g.rows(), dis.rows()));
                }
                int k = (int) index.size();
                int[][] out = new int[nq][];
                for (int i = 0; i < nq; i++) {
                    SearchResult r = index.search(q.row(i), k);
                    out[i] = java.util.Arrays.stream(r.ids()).mapToInt(Math::toIntExact).toArray();
                }
                return out;
            }
        }
    }

    @Command(name = "gldv2", mixinStandardHelpOptions = true, description = "Google Landmarks v2 retrieval mAP@100 (public and private splits).")
    static final class Gldv2 implements Callable<Integer> {
        @Option(names = "--solution", required = true, description = "retrieval_solution CSV: id,images,Usage.")
        Path solution;

        @Option(names = "--predictions", required = true, description = "Submission CSV: id,images (best first).")
        Path predictions;

        @Override
        public Integer call() throws Exception {
            Gldv2Eval.Result r = Gldv2Eval.evaluate(Gldv2Eval.readSolution(solution),
                    Gldv2Eval.readPredictions(predictions));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("public_mAP@100", nullIfNaN(r.publicMap()));
            out.put("private_mAP@100", nullIfNaN(r.privateMap()));
            out.put("public_queries", r.publicQueries());
            out.put("private_queries", r.privateQueries());
            print(out);
            return 0;
        }
    }

    @Command(name = "classes", mixinStandardHelpOptions = true, description = "Class-level mAP@all, mAP@R, mP@1 and mP@10: each query against the "
            + "gallery, relevant = same label. Without --queries every gallery vector queries the rest.")
    static final class Classes implements Callable<Integer> {
        @Option(names = "--gallery", required = true, description = "Gallery vectors (.npy or .fvecs).")
        Path gallery;

        @Option(names = "--labels", required = true, description = "Gallery labels (.npy or .ivecs ints).")
        Path labels;

        @Option(names = "--queries", description = "Query vectors: the same images as the gallery, row for row, "
                + "embedded by another model (asymmetric retrieval); each leaves its own gallery row out.")
        Path queries;

        @Option(names = "--metric", defaultValue = "ip")
        String metric;

        @Override
        public Integer call() throws Exception {
            FloatMatrix g = VectorFiles.readFloats(gallery);
            int[] y = flatLabels(labels);
            if (y.length != g.rows()) {
                throw new IllegalArgumentException(y.length + " labels for " + g.rows() + " gallery vectors");
            }
            FloatMatrix q = queries == null ? g : VectorFiles.readFloats(queries);
            if (q.rows() != g.rows() || q.dim() != g.dim()) {
                throw new IllegalArgumentException("queries must match the gallery row for row: " + q.rows() + " x "
                        + q.dim() + " vs " + g.rows() + " x " + g.dim());
            }
            ClassEval.Result r = ClassEval.evaluate(q.data(), y, g.data(), y, g.dim(), Metric.parse(metric), true);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("queries", r.queries());
            out.put("mAP@all", nullIfNaN(r.mapAll()));
            out.put("mAP@R", nullIfNaN(r.mapAtR()));
            out.put("mP@1", nullIfNaN(r.mpAt1()));
            out.put("mP@10", nullIfNaN(r.mpAt10()));
            print(out);
            return 0;
        }
    }

    static Object nullIfNaN(double v) {
        return Double.isNaN(v) ? null : v;
    }

    static long[] range(long start, int count) {
        long[] ids = new long[count];
        for (int i = 0; i < count; i++) {
            ids[i] = start + i;
        }
        return ids;
    }
}
