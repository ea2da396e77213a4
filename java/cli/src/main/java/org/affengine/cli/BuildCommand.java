package org.affengine.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.affengine.index.ExactIndex;
import org.affengine.index.FaissIndex;
import org.affengine.index.Metric;
import org.affengine.index.Storage;
import org.affengine.index.VectorIndex;
import org.affengine.io.FloatMatrix;
import org.affengine.io.VectorFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "build", mixinStandardHelpOptions = true, description = "Build an index from base vectors (.fvecs or .npy); ids are the row numbers.")
final class BuildCommand implements Callable<Integer> {
    @Option(names = "--base", required = true, description = "Base vectors (.fvecs or .npy).")
    Path base;

    @Option(names = "--out", required = true, description = "Index file to write.")
    Path out;

    @Option(names = "--type", defaultValue = "exact", description = "exact or faiss (default ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--factory", defaultValue = "HNSW32", description = "FAISS factory string for --type faiss "
            + "(default ${DEFAULT-VALUE}).")
    String factory;

    @Option(names = "--metric", defaultValue = "ip", description = "ip or l2 (default ${DEFAULT-VALUE}).")
    String metric;

    @Option(names = "--storage", defaultValue = "fp32", description = "fp32 or fp16 rows for --type exact.")
    String storage;

    @Option(names = "--train-size", defaultValue = "100000",
            description = "Vectors used to train IVF/PQ indexes (default ${DEFAULT-VALUE}).")
    int trainSize;

    @Option(names = "--chunk", defaultValue = "20000", description = "Vectors added per call.")
    int chunk;

    @Override
    public Integer call() throws Exception {
        Metric m = Metric.parse(metric);
        try (VectorFiles.FloatReader reader = VectorFiles.openFloats(base);
             VectorIndex index = create(reader.dim(), m)) {
            if (index instanceof FaissIndex faiss && !faiss.isTrained()) {
                int n = (int) Math.min(trainSize, reader.rows());
                try (VectorFiles.FloatReader sample = VectorFiles.openFloats(base)) {
                    System.err.printf("training %s on %d vectors%n", faiss.factory(), n);
                    faiss.train(sample.next(n).data());
                }
            }
            long id = 0;
            try (ProgressBar bar = new ProgressBar("build", reader.rows(), "vec")) {
                for (FloatMatrix m2 = reader.next(chunk); m2.rows() > 0; m2 = reader.next(chunk)) {
                    long[] ids = new long[m2.rows()];
                    for (int i = 0; i < ids.length; i++) {
                        ids[i] = id++;
                    }
                    index.add(m2.data(), ids);
                    bar.advance(ids.length);
                }
            }
            index.save(out);
            System.out.printf("built %s with %d vectors of dimension %d -> %s%n", index, index.size(),
                    index.dimension(), out);
        }
        return 0;
    }

    private VectorIndex create(int dim, Metric m) {
        return switch (type) {
            case "exact" -> new ExactIndex(dim, m, Storage.parse(storage));
            case "faiss" -> new FaissIndex(dim, factory, m);
            default -> throw new IllegalArgumentException("unknown --type '" + type + "' (expected exact or faiss)");
        };
    }
}
