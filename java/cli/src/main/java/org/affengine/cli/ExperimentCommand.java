package org.affengine.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.affengine.train.AffExperiment;
import org.affengine.train.ExperimentReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "experiment", mixinStandardHelpOptions = true, description = "The AFF experiment on Fashion-MNIST: "
        + "builds (or reuses) the gallery models and the train/test feature stores, trains AFF and every baseline, "
        + "scores class-level retrieval on the test split and writes table.md, results.json, report.html, "
        + "curves.png and the AFF model bundle.")
final class ExperimentCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "A few minutes: 6,000 training and 2,000 test images, gallery models "
            + "trained 200 steps, 150 steps per setting, everything under build/experiment-quick.")
    boolean quick;

    @Option(names = "--out", description = "Results and bundle (default build/experiment, or build/experiment-quick).")
    Path out;

    @Option(names = "--weights", description = "Gallery model weights (default build/models; quick: OUT/models).")
    Path weights;

    @Option(names = "--features", description = "Folder of the feature stores (default build/features; quick: "
            + "OUT/features).")
    Path features;

    @Option(names = "--steps", description = "Optimiser steps per setting (default 1200; quick 150).")
    Integer steps;

    @Option(names = "--alpha", description = "Momentum of the query classifier (default 0.99; quick 0.9).")
    Double alpha;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Option(names = "--train-limit", description = "First N training images (default all 60,000; quick 6,000).")
    Integer trainLimit;

    @Option(names = "--test-limit", description = "First N test images (default all 10,000; quick 2,000).")
    Integer testLimit;

    @Option(names = "--parallel", description = "Settings trained at once, one core each (default: the cores, "
            + "${DEFAULT-VALUE}); the results do not depend on it.", defaultValue = "${sys:aff.cores}")
    int parallel;

    @Option(names = "--torch-threads", defaultValue = "1", description = "LibTorch threads while training (default "
            + "${DEFAULT-VALUE}: these small networks train faster on one thread per op than on two contending).")
    int torchThreads;

    @Override
    public Integer call() throws Exception {
        org.bytedeco.pytorch.global.torch.set_num_threads(torchThreads);
        Path work = out != null ? out : Path.of(quick ? "build/experiment-quick" : "build/experiment");
        Path weightsDir = weights != null ? weights : quick ? work.resolve("models") : Path.of("build/models");
        Path storesDir = features != null ? features : quick ? work.resolve("features") : Path.of("build/features");
        int galleryModelSteps = quick ? 200 : 800;
        AffExperiment.Settings d = quick ? AffExperiment.Settings.quick() : AffExperiment.Settings.defaults();
        AffExperiment.Settings s = new AffExperiment.Settings(steps != null ? steps : d.steps(), d.batch(), d.lr(),
                d.weightDecay(), alpha != null ? alpha : d.alpha(), d.dim(), d.layers(), d.heads(),
                d.ffn(), d.mlpWidth(), d.scale(), d.margin(), seed);
        int nTrain = trainLimit != null ? trainLimit : quick ? 6000 : 60000;
        int nTest = testLimit != null ? testLimit : quick ? 2000 : 10000;
        AffExperiment.Data data = GalleryFeatures.fashionMnist(weightsDir, storesDir, nTrain, nTest,
                galleryModelSteps, seed);
        Files.createDirectories(work);
        AffExperiment.Result result = AffExperiment.run(data, s, work.resolve("bundle"), new TrainingBars(), parallel);
        ExperimentReport.write(result, work);
        System.out.print(ExperimentReport.markdown(result));
        System.out.printf(Locale.ROOT, "%nwrote %s (table.md, results.json, report.html, curves.png, bundle/) in %s%n",
                work, ProgressBar.time(result.seconds()));
        return 0;
    }
}
