package org.affengine.eval;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Google Landmarks v2 retrieval scoring: mAP@100 as the challenge's reference metric computes it. The solution is
 * the published {@code retrieval_solution_v2.1.csv} ({@code id,images,Usage}; images space-separated; Usage Public,
 * Private or Ignored), predictions a submission ({@code id,images}, best first). Per query,
 * AP@100 = sum over the first 100 distinct predictions of precision@i at each relevant one, divided by
 * min(relevant, 100); queries without a prediction count 0; the mean is over the solution's queries.
 */
public final class Gldv2Eval {
    public static final int MAX_PREDICTIONS = 100;

    private Gldv2Eval() {}

    /** Relevant images per query, split as the solution file splits them. */
    public record Solution(Map<String, Set<String>> publicSet, Map<String, Set<String>> privateSet,
                           Set<String> ignored) {}

    public record Result(double publicMap, double privateMap, int publicQueries, int privateQueries) {}

    public static Solution readSolution(Path path) throws IOException {
        Map<String, Set<String>> pub = new LinkedHashMap<>();
        Map<String, Set<String>> priv = new LinkedHashMap<>();
        Set<String> ignored = new HashSet<>();
        List<String[]> rows = readCsv(path, List.of("id", "images", "Usage"));
        for (String[] row : rows) {
            String usage = row[2];
            Set<String> images = new HashSet<>(split(row[1]));
            switch (usage) {
                case "Public" -> putOnce(pub, priv, row[0], images, path);
                case "Private" -> putOnce(priv, pub, row[0], images, path);
                case "Ignored" -> ignored.add(row[0]);
                default -> throw new IOException(path + ": query " + row[0] + " has Usage '" + usage
                        + "' (expected Public, Private or Ignored)");
            }
        }
        return new Solution(pub, priv, ignored);
    }

    private static void putOnce(Map<String, Set<String>> into, Map<String, Set<String>> other, String id,
                                Set<String> images, Path path) throws IOException {
        if (into.containsKey(id) || other.containsKey(id)) {
            throw new IOException(path + ": query " + id + " appears twice");
        }
        into.put(id, images);
    }

    /** Reads a submission: ranked predictions per query id. */
    public static Map<String, List<String>> readPredictions(Path path) throws IOException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String[] row : readCsv(path, List.of("id", "images"))) {
            if (out.put(row[0], split(row[1])) != null) {
                throw new IOException(path + ": query " + row[0] + " is repeated");
            }
        }
        return out;
    }

    public static Result evaluate(Solution solution, Map<String, List<String>> predictions) {
        for (String id : predictions.keySet()) {
            if (!solution.publicSet().containsKey(id) && !solution.privateSet().containsKey(id)
                    && !solution.ignored().contains(id)) {
                throw new IllegalArgumentException("predicted query " + id + " is not in the solution");
            }
        }
        return new Result(meanAveragePrecision(solution.publicSet(), predictions),
                meanAveragePrecision(solution.privateSet(), predictions), solution.publicSet().size(),
                solution.privateSet().size());
    }

    /** mAP@100 over the queries of one solution set (NaN when it is empty). */
    public static double meanAveragePrecision(Map<String, Set<String>> relevant,
                                              Map<String, List<String>> predictions) {
        if (relevant.isEmpty()) {
            return Double.NaN;
        }
        double sum = 0.0;
        for (Map.Entry<String, Set<String>> e : relevant.entrySet()) {
            List<String> predicted = predictions.getOrDefault(e.getKey(), List.of());
            Set<String> truth = e.getValue();
            Set<String> seen = new HashSet<>();
            int correct = 0;
            double ap = 0.0;
            for (int i = 0; i < Math.min(predicted.size(), MAX_PREDICTIONS); i++) {
                String image = predicted.get(i);
                if (seen.add(image) && truth.contains(image)) {
                    correct++;
                    ap += (double) correct / (i + 1);
                }
            }
            if (!truth.isEmpty()) {
                ap /= Math.min(truth.size(), MAX_PREDICTIONS);
            }
            sum += ap;
        }
        return sum / relevant.size();
    }

    private static List<String> split(String images) {
        String s = images.strip();
        return s.isEmpty() || s.equals("None") ? List.of() : Arrays.asList(s.split("\\s+"));
    }

    /** A plain CSV reader for these files: a header, then one row per line, fields without embedded commas. */
    private static List<String[]> readCsv(Path path, List<String> columns) throws IOException {
        List<String[]> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(path)) {
            String header = in.readLine();
            if (header == null) {
                throw new IOException(path + ": empty file");
            }
            List<String> names = Arrays.stream(header.split(",", -1)).map(String::strip).toList();
            int[] at = new int[columns.size()];
            for (int c = 0; c < at.length; c++) {
                at[c] = names.indexOf(columns.get(c));
                if (at[c] < 0) {
                    throw new IOException(path + ": no column '" + columns.get(c) + "' in header " + names);
                }
            }
            String line;
            int number = 1;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                String[] fields = line.split(",", -1);
                if (fields.length != names.size()) {
                    throw new IOException(path + ":" + number + ": " + fields.length + " fields, header has "
                            + names.size());
                }
                String[] row = new String[at.length];
                for (int c = 0; c < at.length; c++) {
                    row[c] = fields[at[c]].strip();
                }
                rows.add(row);
            }
        }
        return rows;
    }
}
