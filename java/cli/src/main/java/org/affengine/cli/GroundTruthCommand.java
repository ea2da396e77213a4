package org.affengine.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.affengine.index.ExactIndex;
import org.affengine.index.Metric;
import org.affengine.index.SearchResult;
import org.affengine.io.FloatMatrix;
import org.affengine.io.IntMatrix;
import org.affengine.io.VectorFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "groundtruth", mixinStandardHelpOptions = true, description = "Exact k nearest base rows of every query, as .ivecs or .npy.")
final class GroundTruthCommand implements Callable<Integer> {
    @Option(names = "--base", required = true)
    Path base;

    @Option(names = "--queries", required = true)
    Path queries;

    @Option(names = "--k", defaultValue = "100")
    int k;

    @Option(names = "--metric", defaultValue = "ip")
    String metric;

    @Option(names = "--out", required = true)
    Path out;

    @Override
    public Integer call() throws Exception {
        FloatMatrix b = VectorFiles.readFloats(base);
        FloatMatrix q = VectorFiles.readFloats(queries);
        if (b.dim() != q.dim()) {
            throw new IllegalArgumentException("base dimension " + b.dim() + " differs from query dimension "
                    + q.dim());
        }
        try (ExactIndex index = new ExactIndex(b.dim(), Metric.parse(metric))) {
            long[] ids = new long[b.rows()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i;
            }
            index.add(b.data(), ids);
            SearchResult[] results = index.searchBatch(q.data(), k);
            int[] gt = new int[q.rows() * k];
            for (int i = 0; i < q.rows(); i++) {
                for (int j = 0; j < k; j++) {
                    gt[i * k + j] = (int) results[i].ids()[j];
                }
            }
            VectorFiles.writeInts(out, new IntMatrix(q.rows(), k, gt));
        }
        System.out.printf("wrote exact top-%d of %d queries to %s%n", k, q.rows(), out);
        return 0;
    }
}
