package org.affengine.train;

import static org.bytedeco.pytorch.global.torch.manual_seed;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.affengine.data.Dataset;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.eval.ClassEval;
import org.affengine.index.Metric;
import org.affengine.models.Layers;

/**
 * The AFF experiment: every setting of the paper's comparison trained on the same data with the same query model
 * and budget, then scored by class-level retrieval on the test split (each test image a query against the rest of
 * the test set as gallery; asymmetric = query model vectors against gallery vectors).
 *
 * <p>Rows: symmetric single gallery model (the accuracy a heavy query model would give); asymmetric single model
 * (the query model trained against that model's frozen classifier, BCT-style); AFF (dynamic mixer, momentum
 * classifier, joint); the concat-MLP mixer; AFF with a coupled classifier (alpha = 0); AFF trained in two stages;
 * the symmetric mixer (mixer vectors on both sides: the gallery-side ceiling); and the untrained query model against
 * the AFF gallery (the floor).
 */
public final class AffExperiment {
    /** Everything that decides the outcome; the experiment is deterministic for these. */
    public record Settings(int steps, int batch, double lr, double weightDecay, double alpha,
                           int dim, int layers, int heads, int ffn, int mlpWidth, double scale, double margin,
                           long seed) {
        public static Settings defaults() {
            return new Settings(1200, 128, 1e-3, 1e-4, 0.99, 128, 2, 4, 256, 256, 16, 0.2, 1);
        }

        /** A few minutes on 2 cores: fewer steps, a smaller batch, and a faster-moving momentum classifier. */
        public static Settings quick() {
            return new Settings(150, 64, 1e-3, 1e-4, 0.9, 64, 1, 4, 128, 128, 16, 0.2, 1);
        }

        AffTrainer.Config trainer(AffTrainer.Schedule schedule, double a) {
            return new AffTrainer.Config(steps, batch, lr, weightDecay, a, scale, margin, seed, schedule);
        }
    }

    /** Multiply-accumulates and parameters of one gallery model per image. */
    public record Cost(long macs, long parameters) {}

    /** The data: training images with their stored gallery features, the same for the test split. */
    public record Data(Dataset train, FeatureStore trainFeatures, Dataset test, FeatureStore testFeatures,
                       Map<String, Cost> galleryModels) {}

    /** One setting's outcome. Costs are per image; training seconds 0 for rows that train nothing. */
    public record Row(String id, String setting, String query, String gallery, double mapAll, double mapAtR,
                      double mpAt10, long queryMacs, long queryParams, long galleryMacs, long galleryParams,
                      double trainSeconds, List<AffTrainer.Point> curve) {}

    /** A claim of the paper and whether this run shows it. */
    public record Claim(String claim, String better, String worse, double betterMap, double worseMap,
                        boolean holds) {}

    public record Result(String dataset, int trainImages, int testImages, Settings settings, List<Row> rows,
                         List<Claim> claims, double seconds) {
        public Row row(String id) {
            return rows.stream().filter(r -> r.id().equals(id)).findFirst().orElseThrow(
                    () -> new IllegalArgumentException("no row " + id));
        }
    }

    /** Reports the progress of each training run (a progress bar in the CLI). */
    public interface Monitor {
        Task start(String label, int steps);

        interface Task extends AffTrainer.Progress, AutoCloseable {
            @Override
            void close();
        }
    }

    private final Data data;
    private final Settings s;
    private final Monitor monitor;
    private final int[] testLabels;
    private final List<FeatureSpec> inputs;

    private AffExperiment(Data data, Settings s, Monitor monitor) {
        this.data = data;
        this.s = s;
        this.monitor = monitor;
        this.inputs = data.trainFeatures().models();
        if (!inputs.equals(data.testFeatures().models())) {
            throw new IllegalArgumentException("the train and test feature stores come from different models");
        }
        for (FeatureSpec f : inputs) {
            if (!data.galleryModels().containsKey(f.name())) {
                throw new IllegalArgumentException("no cost given for gallery model " + f.name());
            }
        }
        testLabels = new int[data.test().size()];
        for (int i = 0; i < testLabels.length; i++) {
            testLabels[i] = data.test().get(i).label();
        }
    }

    /**
     * Runs every setting, up to {@code workers} trainings at once (each on its own thread; the outcome does not
     * depend on the number); the AFF model (mixer + query model) is saved as a bundle in bundleDir.
     */
    public static Result run(Data data, Settings s, Path bundleDir, Monitor monitor, int workers)
            throws IOException {
        return new AffExperiment(data, s, monitor).run(bundleDir, workers);
    }

    /**
     * Trains only the AFF setting (transformer mixer, momentum classifier, joint), saves it as a bundle in bundleDir
     * and returns its row (scored on the test split).
     */
    public static Row trainAff(Data data, Settings s, Path bundleDir, Monitor monitor) throws IOException {
        AffExperiment e = new AffExperiment(data, s, monitor);
        Trained aff = e.trainAffRow(e.fusedCost());
        ModelBundle.save(bundleDir, aff.encoder(), aff.query(), e.trainingRecord());
        return aff.row();
    }

    private Cost fusedCost() {
        long macs = 0;
        long params = 0;
        for (FeatureSpec f : inputs) {
            macs += data.galleryModels().get(f.name()).macs();
            params += data.galleryModels().get(f.name()).parameters();
        }
        return new Cost(macs, params);
    }

    private Trained trainAffRow(Cost all) {
        return trainKeep("aff", "AFF: transformer mixer, momentum classifier (alpha " + s.alpha() + ")",
                "all " + inputs.size() + " fused", all, s.dim(), this::mixer, AffTrainer.Schedule.JOINT, s.alpha());
    }

    private Map<String, Object> trainingRecord() {
        Map<String, Object> training = new LinkedHashMap<>();
        training.put("dataset", data.train().name());
        training.put("images", data.train().size());
        training.put("settings", s);
        return training;
    }

    private Result run(Path bundleDir, int workers) throws IOException {
        long start = System.nanoTime();
        List<Row> rows = new ArrayList<>();
        Cost all = fusedCost();
        String fused = "all " + inputs.size() + " fused";
        for (FeatureSpec f : inputs) {
            Cost c = data.galleryModels().get(f.name());
            float[] vectors = AffTrainer.galleryVectors(new SingleFeature(f), data.testFeatures(), 500);
            rows.add(row("symmetric:" + f.name(), "symmetric " + f.name(), f.name(), f.name(), vectors, vectors,
                    f.dim(), c.macs(), c.parameters(), c.macs(), c.parameters(), 0, List.of()));
        }
        List<Callable<Trained>> jobs = new ArrayList<>();
        for (FeatureSpec f : inputs) {
            Cost c = data.galleryModels().get(f.name());
            jobs.add(() -> trainKeep("asymmetric:" + f.name(), "asymmetric " + f.name()
                    + " (BCT-style: frozen classifier)", f.name(), c, f.dim(), () -> new SingleFeature(f),
                    AffTrainer.Schedule.TWO_STAGE, 1.0));
        }
        jobs.add(() -> trainAffRow(all));
        jobs.add(() -> trainKeep("mlp", "concat-MLP mixer, momentum classifier (alpha " + s.alpha() + ")", fused,
                all, s.dim(), () -> new MlpMixer(inputs, s.dim(), s.mlpWidth()), AffTrainer.Schedule.JOINT,
                s.alpha()));
        jobs.add(() -> trainKeep("coupled", "AFF, coupled classifier (alpha 0)", fused, all, s.dim(), this::mixer,
                AffTrainer.Schedule.JOINT, 0));
        jobs.add(() -> trainKeep("two-stage", "AFF, two-stage (mixer first, then query model)", fused, all,
                s.dim(), this::mixer, AffTrainer.Schedule.TWO_STAGE, 1.0));
        List<Trained> trained = runAll(jobs, workers);
        trained.forEach(t -> rows.add(t.row()));
        Trained aff = trained.stream().filter(t -> t.row().id().equals("aff")).findFirst().orElseThrow();
        long mixerMacs = aff.encoder().macs() + all.macs();
        long mixerParams = Layers.parameterCount(aff.encoder()) + all.parameters();
        rows.add(row("symmetric:mixer", "symmetric mixer (mixer vectors on both sides: gallery ceiling)", fused,
                fused, aff.gallery(), aff.gallery(), s.dim(), mixerMacs, mixerParams, mixerMacs, mixerParams, 0,
                List.of()));
        QueryNet untrained;
        synchronized (AffTrainer.SEEDING) {
            manual_seed(s.seed());
            untrained = new QueryNet(s.dim());  // drawn as every trained row draws its query model: their start
        }
        rows.add(row("untrained", "untrained query model vs the AFF gallery (floor)", untrained.modelName(), fused,
                AffTrainer.queryVectors(untrained, data.test(), 500), aff.gallery(), s.dim(), untrained.macs(),
                Layers.parameterCount(untrained), mixerMacs, mixerParams, 0, List.of()));
        ModelBundle.save(bundleDir, aff.encoder(), aff.query(), trainingRecord());
        return new Result(data.train().name(), data.train().size(), data.test().size(), s, rows, claims(rows),
                (System.nanoTime() - start) / 1e9);
    }

    /** Runs the jobs on up to `workers` threads and returns their results in the jobs' order. */
    static <T> List<T> runAll(List<Callable<T>> jobs, int workers) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(workers, jobs.size())));
        try {
            List<T> out = new ArrayList<>();
            for (Future<T> f : pool.invokeAll(jobs)) {
                out.add(f.get());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private DynamicMixer mixer() {
        return new DynamicMixer(inputs, new DynamicMixer.Config(s.dim(), s.layers(), s.heads(), s.ffn()));
    }

    private record Trained(Row row, GalleryEncoder encoder, QueryNet query, float[] gallery) {}

    private Trained trainKeep(String id, String setting, String gallery, Cost galleryCost, int dim,
                              Supplier<GalleryEncoder> make, AffTrainer.Schedule schedule, double alpha) {
        // Same seed, query model drawn first: it starts from the same weights in every setting of its width.
        // Runs in parallel draw from LibTorch's one global generator, hence the lock.
        QueryNet query;
        GalleryEncoder encoder;
        synchronized (AffTrainer.SEEDING) {
            manual_seed(s.seed());
            query = new QueryNet(dim);
            encoder = make.get();
        }
        long t0 = System.nanoTime();
        int steps = schedule == AffTrainer.Schedule.JOINT ? s.steps() : 2 * s.steps();
        List<AffTrainer.Point> curve;
        try (Monitor.Task task = monitor.start(id, steps)) {
            curve = AffTrainer.train(encoder, query, data.trainFeatures(), data.train(),
                    s.trainer(schedule, schedule == AffTrainer.Schedule.JOINT ? alpha : 0), task);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        float[] galleryVectors = AffTrainer.galleryVectors(encoder, data.testFeatures(), 500);
        Row r = row(id, setting, query.modelName(), gallery, AffTrainer.queryVectors(query, data.test(), 500),
                galleryVectors, encoder.dim(), query.macs(), Layers.parameterCount(query),
                galleryCost.macs() + encoder.macs(), galleryCost.parameters() + Layers.parameterCount(encoder),
                seconds, curve);
        return new Trained(r, encoder, query, galleryVectors);
    }

    private Row row(String id, String setting, String query, String gallery, float[] queries, float[] galleryVectors,
                    int dim, long queryMacs, long queryParams, long galleryMacs, long galleryParams, double seconds,
                    List<AffTrainer.Point> curve) {
        ClassEval.Result r = ClassEval.evaluate(queries, testLabels, galleryVectors, testLabels, dim,
                Metric.INNER_PRODUCT, true);
        return new Row(id, setting, query, gallery, r.mapAll(), r.mapAtR(), r.mpAt10(), queryMacs, queryParams,
                galleryMacs, galleryParams, seconds, curve);
    }

    static List<Claim> claims(List<Row> rows) {
        Map<String, Row> byId = new LinkedHashMap<>();
        rows.forEach(r -> byId.put(r.id(), r));
        Row aff = byId.get("aff");
        Row bestSingle = rows.stream().filter(r -> r.id().startsWith("asymmetric:"))
                .max(java.util.Comparator.comparingDouble(Row::mapAll)).orElseThrow();
        List<Claim> out = new ArrayList<>();
        out.add(claim("AFF asymmetric beats the best asymmetric single-model baseline", aff, bestSingle));
        out.add(claim("momentum classifier beats the coupled one (alpha 0)", aff, byId.get("coupled")));
        out.add(claim("joint training beats two-stage", aff, byId.get("two-stage")));
        out.add(claim("transformer mixer beats the concat-MLP mixer", aff, byId.get("mlp")));
        return out;
    }

    private static Claim claim(String text, Row better, Row worse) {
        return new Claim(text, better.id(), worse.id(), better.mapAll(), worse.mapAll(),
                better.mapAll() > worse.mapAll());
    }
}
