package org.affengine.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.affengine.data.Dataset;
import org.affengine.data.FashionMnist;
import org.affengine.data.LabelledImage;
import org.affengine.models.GalleryModels;
import org.affengine.serve.AffService;
import org.affengine.serve.Retriever;
import org.affengine.train.AffExperiment;
import org.affengine.train.AffModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true, description = "Serve an AFF gallery over HTTP with a web "
        + "page. By default: the Fashion-MNIST test split indexed with the AFF bundle, trained on the first run "
        + "(gallery models, feature stores, mixer + query model) and reused afterwards.")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default ${DEFAULT-VALUE}; 0: any free).")
    int port;

    @Option(names = "--data", defaultValue = "build/serve", description = "The gallery's log and snapshots, the "
            + "bundle and the API key (default ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--bundle", description = "A model bundle to serve (default DATA/bundle, trained if missing).")
    Path bundle;

    @Option(names = "--weights", defaultValue = "build/models", description = "Gallery model weights.")
    Path weights;

    @Option(names = "--features", defaultValue = "build/features", description = "Feature stores.")
    Path features;

    @Option(names = "--steps", defaultValue = "1200", description = "AFF training steps when the bundle is trained "
            + "(default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--gallery", defaultValue = "10000", description = "Fashion-MNIST test images indexed on the "
            + "first start (default ${DEFAULT-VALUE}: all).")
    int galleryImages;

    @Option(names = "--api-key-file", description = "File holding the API key for changes (default DATA/api-key, "
            + "created with a random key).")
    Path apiKeyFile;

    @Option(names = "--max-body", defaultValue = "8388608", description = "Largest request body in bytes.")
    int maxBody;

    @Option(names = "--max-concurrent", defaultValue = "256", description = "Requests served at once.")
    int maxConcurrent;

    @Option(names = "--snapshot-seconds", defaultValue = "60", description = "Snapshot interval when the gallery "
            + "changed (0: only at shutdown).")
    long snapshotSeconds;

    @Option(names = "--empty", description = "Start with an empty gallery instead of indexing Fashion-MNIST.")
    boolean empty;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Override
    public Integer call() throws Exception {
        org.bytedeco.pytorch.global.torch.set_num_threads(1);
        Path bundleDir = bundle != null ? bundle : data.resolve("bundle");
        if (!Files.exists(bundleDir.resolve("bundle.json"))) {
            System.err.println("aff serve: no model bundle in " + bundleDir + "; training one (first run only)");
            AffExperiment.Data fashion = GalleryFeatures.fashionMnist(weights, features, 60000, 10000, 800, seed);
            AffExperiment.Settings d = AffExperiment.Settings.defaults();
            AffExperiment.Settings s = new AffExperiment.Settings(steps, d.batch(), d.lr(), d.weightDecay(),
                    d.alpha(), d.dim(), d.layers(), d.heads(), d.ffn(), d.mlpWidth(), d.scale(), d.margin(), seed);
            AffExperiment.Row row = AffExperiment.trainAff(fashion, s, bundleDir, new TrainingBars());
            System.err.printf(Locale.ROOT, "aff serve: AFF bundle trained: asymmetric mAP@all %.4f, mP@10 %.4f on "
                    + "the test split%n", row.mapAll(), row.mpAt10());
        }
        AffModel model = AffModel.load(bundleDir, weights);
        Retriever retriever = Retriever.open(model, data.resolve("gallery"));
        if (retriever.size() == 0 && !empty) {
            index(retriever, model);
        }
        String key = apiKey();
        AffService service = new AffService(retriever, new AffService.Config(host, port, key, maxBody,
                maxConcurrent, bundleDir, snapshotSeconds));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                service.close();
                retriever.close();
            } catch (Exception e) {
                System.err.println("aff serve: shutdown: " + e.getMessage());
            }
            stopped.countDown();
        }));
        String shown = host.equals("0.0.0.0") ? "localhost" : host;
        System.out.printf(Locale.ROOT, "aff serve: %d gallery images; web page at http://%s:%d/ (API key for "
                + "changes in %s)%n", retriever.size(), shown, service.port(), keyFile());
        System.out.flush();
        stopped.await();
        return 0;
    }

    /** Indexes the first test images from their stored features, with their pictures as thumbnails. */
    private void index(Retriever retriever, AffModel model) throws Exception {
        Dataset train = FashionMnist.load(Dataset.Split.TRAIN);
        Dataset all = FashionMnist.load(Dataset.Split.TEST);
        if (galleryImages < 1 || galleryImages > all.size()) {
            throw new IllegalArgumentException("--gallery must be 1.." + all.size());
        }
        Dataset test = all.first(galleryImages);
        GalleryFeatures gallery = new GalleryFeatures(GalleryModels.NAMES, weights, train, 800, seed);
        Path store = features.resolve(GalleryFeatures.storeName(Dataset.Split.TEST, test.size(), all.size()));
        gallery.extract(test, store);
        int n = test.size();
        float[] vectors = model.galleryVectors(gallery.open(store));
        int d = model.dim();
        try (ProgressBar bar = new ProgressBar("index gallery", n, "img")) {
            for (int start = 0; start < n; start += 1000) {
                List<Retriever.Item> items = new ArrayList<>();
                for (int i = start; i < Math.min(n, start + 1000); i++) {
                    LabelledImage img = test.get(i);
                    float[] v = java.util.Arrays.copyOfRange(vectors, i * d, (i + 1) * d);
                    items.add(new Retriever.Item("fmnist-test-" + i, v, Map.of("label",
                            FashionMnist.CLASS_NAMES.get(img.label()), "split", "test", "index", String.valueOf(i)),
                            Retriever.thumbnailPng(img.image())));
                }
                retriever.putVectors(items);
                bar.advance(items.size());
            }
        }
        retriever.snapshot();
    }

    private Path keyFile() {
        return apiKeyFile != null ? apiKeyFile : data.resolve("api-key");
    }

    private String apiKey() throws Exception {
        Path file = keyFile();
        if (!Files.exists(file)) {
            byte[] random = new byte[24];
            new SecureRandom().nextBytes(random);
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, HexFormat.of().formatHex(random) + "\n");
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
        return Files.readString(file).trim();
    }
}
