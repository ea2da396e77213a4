package org.affengine.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.affengine.data.Dataset;
import org.affengine.data.FashionMnist;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.eval.ClassEval;
import org.affengine.models.GalleryExtraction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "extract", mixinStandardHelpOptions = true, description = "Run the gallery models over Fashion-MNIST "
        + "into a feature store (training each on the train split first when its weights are missing; resuming an "
        + "interrupted store), then report extraction throughput, store size and each model's class-level mAP.")
final class ExtractCommand implements Callable<Integer> {
    @Option(names = "--split", defaultValue = "test", description = "train or test (default ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--out", description = "Feature store folder (default build/features/fashion-mnist-SPLIT).")
    Path out;

    @Option(names = "--models", defaultValue = "resnet-gem,vgg-gem,delf", split = ",",
            description = "Gallery models (default ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--weights", defaultValue = "build/models", description = "Where trained weights are kept.")
    Path weights;

    @Option(names = "--train-steps", defaultValue = "800", description = "SGD steps of 64 images per model "
            + "(default ${DEFAULT-VALUE}, under an epoch).")
    int trainSteps;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Option(names = "--limit", defaultValue = "0", description = "Use only the first N images of the split (0: all).")
    int limit;

    @Override
    public Integer call() throws Exception {
        Dataset.Split s = Dataset.Split.valueOf(split.toUpperCase(Locale.ROOT));
        FashionMnist train = FashionMnist.load(Dataset.Split.TRAIN);
        Dataset data = FashionMnist.load(s);
        if (limit > 0) {
            data = data.first(Math.min(limit, data.size()));
        }
        Path store = out != null ? out : Path.of("build/features/fashion-mnist-" + split
                + (limit > 0 ? "-" + limit : ""));
        GalleryFeatures gallery = new GalleryFeatures(models, weights, train, trainSteps, seed);
        List<FeatureSpec> specs = gallery.specs;
        GalleryExtraction.Timing timing = gallery.extract(data, store);
        FeatureStore features = gallery.open(store);
        int[] labels = new int[data.size()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = data.get(i).label();
        }
        Map<String, ClassEval.Result> scores = GalleryExtraction.evaluate(features, labels);
        System.out.printf(Locale.ROOT, "feature store %s: %d images, %.0f bytes per image%n", store, data.size(),
                GalleryExtraction.bytesPerImage(store, data.size()));
        System.out.println("| model | kind | dim | images/s (2 threads, this run) | mAP@all | mAP@R | mP@10 |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (FeatureSpec spec : specs) {
            ClassEval.Result r = scores.get(spec.name());
            double secs = timing.seconds().get(spec.name());
            String rate = timing.images() > 0 && secs > 0 ? String.format(Locale.ROOT, "%.0f",
                    timing.images() / secs) : "(resumed: none extracted)";
            System.out.printf(Locale.ROOT, "| %s | %s | %d | %s | %.4f | %.4f | %.4f |%n", spec.name(),
                    spec.kind().name().toLowerCase(Locale.ROOT), spec.dim(), rate, r.mapAll(), r.mapAtR(),
                    r.mpAt10());
        }
        return 0;
    }
}
