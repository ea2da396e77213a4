package org.affengine.cli;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.Callable;
import org.affengine.io.FloatMatrix;
import org.affengine.io.VectorFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true, description = "Write seeded synthetic vectors (a Gaussian mixture) as .fvecs or .npy.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--n", required = true, description = "Number of vectors.")
    int n;

    @Option(names = "--d", required = true, description = "Dimension.")
    int d;

    @Option(names = "--clusters", defaultValue = "100", description = "Mixture components (default ${DEFAULT-VALUE}).")
    int clusters;

    @Option(names = "--seed", defaultValue = "1", description = "Seed: the mixture centres depend on it alone, so "
            + "base and query files made with one seed and different --sample-seed share clusters.")
    long seed;

    @Option(names = "--sample-seed", defaultValue = "0", description = "Seed of the points themselves.")
    long sampleSeed;

    @Option(names = "--out", required = true, description = "Output .fvecs or .npy file.")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (n < 1 || d < 1 || clusters < 1) {
            throw new IllegalArgumentException("--n, --d and --clusters must be >= 1");
        }
        Random centresRng = new Random(seed);
        float[] centres = new float[clusters * d];
        for (int i = 0; i < centres.length; i++) {
            centres[i] = (float) centresRng.nextGaussian();
        }
        Random rng = new Random(seed * 31 + sampleSeed + 1);
        float[] data = new float[Math.multiplyExact(n, d)];
        try (ProgressBar bar = new ProgressBar("generate", n, "vec")) {
            for (int r = 0; r < n; r++) {
                int c = rng.nextInt(clusters);
                for (int i = 0; i < d; i++) {
                    data[r * d + i] = centres[c * d + i] + 0.35f * (float) rng.nextGaussian();
                }
                if ((r & 4095) == 4095 || r == n - 1) {
                    bar.advance((r & 4095) + 1);
                }
            }
        }
        VectorFiles.writeFloats(out, new FloatMatrix(n, d, data));
        System.out.printf("wrote %d vectors of dimension %d to %s%n", n, d, out);
        return 0;
    }
}
