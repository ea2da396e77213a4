package org.affengine.cli;

import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.affengine.index.FaissIndex;
import org.affengine.index.SearchResult;
import org.affengine.index.VectorIndex;
import org.affengine.index.VectorIndexes;
import org.affengine.io.FloatMatrix;
import org.affengine.io.IntMatrix;
import org.affengine.io.VectorFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "search", mixinStandardHelpOptions = true, description = "Search an index with a query file; write ids as .ivecs/.npy and/or JSON.")
final class SearchCommand implements Callable<Integer> {
    @Option(names = "--index", required = true, description = "Index file.")
    Path indexFile;

    @Option(names = "--queries", required = true, description = "Query vectors (.fvecs or .npy).")
    Path queries;

    @Option(names = "--k", defaultValue = "10", description = "Results per query (default ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--batch", defaultValue = "1024", description = "Queries per search call.")
    int batch;

    @Option(names = "--param", description = "FAISS search parameter name=value, e.g. efSearch=128 (repeatable).")
    List<String> params = List.of();

    @Option(names = "--out", description = "Result ids (.ivecs or .npy), one row of k ids per query.")
    Path out;

    @Option(names = "--json", description = "Results as JSON: ids and scores per query.")
    Path json;

    @Override
    public Integer call() throws Exception {
        FloatMatrix q = VectorFiles.readFloats(queries);
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be >= 1");
        }
        try (VectorIndex index = VectorIndexes.open(indexFile)) {
            if (q.dim() != index.dimension()) {
                throw new IllegalArgumentException("queries have dimension " + q.dim() + ", index has "
                        + index.dimension());
            }
            for (String p : params) {
                String[] kv = p.split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("--param expects name=value, got '" + p + "'");
                }
                if (!(index instanceof FaissIndex faiss)) {
                    throw new IllegalArgumentException("--param applies to FAISS indexes only");
                }
                faiss.setParameter(kv[0], Double.parseDouble(kv[1]));
            }
            SearchResult[] results = new SearchResult[q.rows()];
            long start = System.nanoTime();
            try (ProgressBar bar = new ProgressBar("search", q.rows(), "q")) {
                for (int i = 0; i < q.rows(); i += batch) {
                    int nq = Math.min(batch, q.rows() - i);
                    float[] chunk = new float[nq * q.dim()];
                    System.arraycopy(q.data(), i * q.dim(), chunk, 0, chunk.length);
                    System.arraycopy(index.searchBatch(chunk, k), 0, results, i, nq);
                    bar.advance(nq);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "searched %d queries, k=%d, in %.3f s (%.1f QPS)%n", q.rows(), k, seconds,
                    q.rows() / seconds);
            if (out != null) {
                int[] ids = new int[q.rows() * k];
                for (int i = 0; i < q.rows(); i++) {
                    for (int j = 0; j < k; j++) {
                        ids[i * k + j] = Math.toIntExact(results[i].ids()[j]);
                    }
                }
                VectorFiles.writeInts(out, new IntMatrix(q.rows(), k, ids));
            }
            if (json != null) {
                writeJson(json, results);
            }
        }
        return 0;
    }

    private static void writeJson(Path path, SearchResult[] results) throws IOException {
        try (Writer w = Files.newBufferedWriter(path)) {
            w.write("{\"results\": [\n");
            for (int i = 0; i < results.length; i++) {
                w.write("  {\"query\": " + i + ", \"ids\": [");
                SearchResult r = results[i];
                for (int j = 0; j < r.size(); j++) {
                    w.write((j > 0 ? ", " : "") + r.ids()[j]);
                }
                w.write("], \"scores\": [");
                for (int j = 0; j < r.size(); j++) {
                    float s = r.scores()[j];
                    w.write((j > 0 ? ", " : "") + (Float.isFinite(s) ? Float.toString(s) : "null"));
                }
                w.write("]}" + (i + 1 < results.length ? "," : "") + "\n");
            }
            w.write("]}\n");
        }
    }
}
