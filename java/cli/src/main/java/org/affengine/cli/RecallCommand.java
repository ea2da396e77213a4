package org.affengine.cli;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.affengine.io.IntMatrix;
import org.affengine.io.VectorFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "recall", mixinStandardHelpOptions = true, description = "recall@k of result ids against ground truth: the fraction of the true k "
        + "nearest found among the first k results. Prints JSON.")
final class RecallCommand implements Callable<Integer> {
    @Option(names = "--results", required = true, description = "Result ids (.ivecs or .npy).")
    Path results;

    @Option(names = "--truth", required = true, description = "Ground-truth ids (.ivecs or .npy).")
    Path truth;

    @Option(names = "--k", defaultValue = "10")
    int k;

    @Override
    public Integer call() throws Exception {
        IntMatrix r = VectorFiles.readInts(results);
        IntMatrix t = VectorFiles.readInts(truth);
        System.out.println(String.format(Locale.ROOT, "{\"k\": %d, \"queries\": %d, \"recall\": %.6f}", k, r.rows(),
                recall(r, t, k)));
        return 0;
    }

    static double recall(IntMatrix results, IntMatrix truth, int k) {
        if (results.rows() != truth.rows()) {
            throw new IllegalArgumentException(results.rows() + " result rows but " + truth.rows()
                    + " ground-truth rows");
        }
        if (k < 1 || k > results.dim() || k > truth.dim()) {
            throw new IllegalArgumentException("k = " + k + " exceeds the columns of results (" + results.dim()
                    + ") or ground truth (" + truth.dim() + ")");
        }
        long found = 0;
        for (int i = 0; i < results.rows(); i++) {
            Set<Integer> want = new HashSet<>();
            for (int j = 0; j < k; j++) {
                want.add(truth.get(i, j));
            }
            for (int j = 0; j < k; j++) {
                found += want.contains(results.get(i, j)) ? 1 : 0;
            }
        }
        return results.rows() == 0 ? 0 : (double) found / ((long) results.rows() * k);
    }
}
