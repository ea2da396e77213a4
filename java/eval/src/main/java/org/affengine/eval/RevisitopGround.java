package org.affengine.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Ground truth in the revisited Oxford/Paris ("revisitop") form: gallery image names, query image names, and per
 * query the gallery indices that are easy, hard and junk, plus the query's bounding box [x1, y1, x2, y2].
 * Read from the published {@code gnd_*.pkl} files or the same structure as JSON, and written in either form.
 */
public record RevisitopGround(List<String> imlist, List<String> qimlist, List<Query> queries) {

    /** One query's ground truth; bbx is null where the file has none. */
    public record Query(int[] easy, int[] hard, int[] junk, double[] bbx) {}

    public RevisitopGround {
        if (queries.size() != qimlist.size()) {
            throw new IllegalArgumentException(queries.size() + " ground-truth entries for " + qimlist.size()
                    + " query images");
        }
        for (int q = 0; q < queries.size(); q++) {
            for (int[] set : List.of(queries.get(q).easy(), queries.get(q).hard(), queries.get(q).junk())) {
                for (int i : set) {
                    if (i < 0 || i >= imlist.size()) {
                        throw new IllegalArgumentException("query " + q + " names gallery index " + i + ", outside [0, "
                                + imlist.size() + ")");
                    }
                }
            }
        }
    }

    /** Reads .pkl (Python pickle) or .json by extension. */
    public static RevisitopGround read(Path path) throws IOException {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        try {
            if (name.endsWith(".pkl") || name.endsWith(".pickle")) {
                return fromPlain(Pickle.load(Files.readAllBytes(path)));
            }
            if (name.endsWith(".json")) {
                return fromPlain(new ObjectMapper().readValue(path.toFile(), Object.class));
            }
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IOException(path + ": not revisitop ground truth: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new IOException(path + ": " + e.getMessage(), e);
        }
        throw new IOException(path + ": unknown ground-truth file type (expected .pkl or .json)");
    }

    /** Writes .pkl (protocol 2, as the published files) or .json by extension. */
    public void write(Path path) throws IOException {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        Map<String, Object> plain = toPlain();
        if (name.endsWith(".pkl")) {
            Files.write(path, Pickle.write(plain));
        } else if (name.endsWith(".json")) {
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(path.toFile(), plain);
        } else {
            throw new IOException(path + ": unknown ground-truth file type (expected .pkl or .json)");
        }
    }

    Map<String, Object> toPlain() {
        List<Object> gnd = new ArrayList<>();
        for (Query q : queries) {
            Map<String, Object> entry = new LinkedHashMap<>();
            if (q.bbx() != null) {
                entry.put("bbx", q.bbx());
            }
            entry.put("easy", q.easy());
            entry.put("hard", q.hard());
            entry.put("junk", q.junk());
            gnd.add(entry);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("gnd", gnd);
        root.put("imlist", imlist);
        root.put("qimlist", qimlist);
        return root;
    }

    static RevisitopGround fromPlain(Object root) {
        Map<?, ?> top = as(Map.class, root, "the top level");
        List<String> imlist = strings(top.get("imlist"), "imlist");
        List<String> qimlist = strings(top.get("qimlist"), "qimlist");
        List<?> gnd = as(List.class, top.get("gnd"), "gnd");
        List<Query> queries = new ArrayList<>();
        for (int i = 0; i < gnd.size(); i++) {
            Map<?, ?> entry = as(Map.class, gnd.get(i), "gnd[" + i + "]");
            if (!entry.containsKey("easy") && entry.containsKey("ok")) {
                throw new IllegalArgumentException("gnd[" + i + "] has 'ok' but no 'easy'/'hard': the original "
                        + "Oxford/Paris protocol, not the revisited one");
            }
            Object bbx = entry.get("bbx");
            queries.add(new Query(ints(entry.get("easy"), "gnd[" + i + "].easy"),
                    ints(entry.get("hard"), "gnd[" + i + "].hard"), ints(entry.get("junk"), "gnd[" + i + "].junk"),
                    bbx == null ? null : doubles(bbx, "gnd[" + i + "].bbx")));
        }
        return new RevisitopGround(imlist, qimlist, queries);
    }

    private static <T> T as(Class<T> type, Object o, String what) {
        if (o instanceof JsonNode) {
            throw new IllegalStateException("unexpected JSON node");
        }
        if (!type.isInstance(o)) {
            throw new IllegalArgumentException(what + " is " + (o == null ? "missing" : "a "
                    + o.getClass().getSimpleName()) + ", expected a " + type.getSimpleName());
        }
        return type.cast(o);
    }

    private static List<String> strings(Object o, String what) {
        List<?> list = as(List.class, o, what);
        List<String> out = new ArrayList<>(list.size());
        for (Object v : list) {
            out.add(as(String.class, v, what + " entry"));
        }
        return List.copyOf(out);
    }

    private static int[] ints(Object o, String what) {
        List<?> list = as(List.class, o, what);
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = list.get(i);
            if (!(v instanceof Long || v instanceof Integer || v instanceof BigInteger)) {
                throw new IllegalArgumentException(what + "[" + i + "] is not an integer");
            }
            out[i] = Math.toIntExact(((Number) v).longValue());
        }
        return out;
    }

    private static double[] doubles(Object o, String what) {
        List<?> list = as(List.class, o, what);
        if (list.size() != 4) {
            throw new IllegalArgumentException(what + " has " + list.size() + " values, expected 4 (x1, y1, x2, y2)");
        }
        double[] out = new double[4];
        for (int i = 0; i < 4; i++) {
            out[i] = as(Number.class, list.get(i), what + "[" + i + "]").doubleValue();
        }
        return out;
    }
}
