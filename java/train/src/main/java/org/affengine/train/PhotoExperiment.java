package org.affengine.train;

import static org.bytedeco.pytorch.global.torch.get_num_threads;
import static org.bytedeco.pytorch.global.torch.manual_seed;
import static org.bytedeco.pytorch.global.torch.set_num_threads;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import javax.imageio.ImageIO;
import org.affengine.data.Dataset;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.data.FeatureStoreWriter;
import org.affengine.data.Features;
import org.affengine.data.ImageCodec;
import org.affengine.data.RawImage;
import org.affengine.eval.RevisitopEval;
import org.affengine.eval.RevisitopGround;
import org.affengine.eval.TrainingStamps;
import org.affengine.index.ExactIndex;
import org.affengine.index.Metric;
import org.affengine.io.Directories;
import org.affengine.models.AttentionLocal;
import org.affengine.models.LocalVoting;
import org.affengine.models.PcaWhitening;
import org.affengine.models.Trainer;
import org.affengine.models.TrainingInputs;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * The AFF experiment on photographs. Training: instance discrimination over augmented views of the Tux Paint stamps
 * (every stamp a class; easy and hard views as the benchmark makes them), disjoint from the benchmark's photos.
 * Gallery: InceptionV3 mixed7 GeM and MobileNetV2 block_13 GeM (ImageNet weights, frozen, PCA-whitened on the
 * training views), SIFT (local) and a learned local model (a DELF-style attention head on the frozen mixed7 map,
 * trained on the training views first, then frozen). Query: MobileNetV2 initialised from the same ImageNet weights,
 * frozen up to a cut layer, fine-tuned from there to block_13_expand_relu, plus a new head ({@link TrunkHead}).
 * Scored with revisitop easy / medium / hard mAP on the instance benchmark (queries cropped to their box). Rows as in
 * {@link AffExperiment}: symmetric single models, asymmetric single models (BCT-style), AFF, the concat-MLP mixer,
 * alpha = 0, two-stage, AFF without SIFT, AFF on the global models only, the symmetric mixer (ceiling) and the
 * untrained query model (floor); plus the measured CPU cost per image of the query side and of the gallery side.
 */
public final class PhotoExperiment {
    /**
     * Everything that decides the outcome; instances 0 takes every stamp. trunkCut: the MobileNetV2 layer up to which
     * the query model stays frozen (block_13_expand_relu: the whole trunk frozen); tunedStep: how fast the
     * pretrained layers after it move relative to the new ones ({@link org.affengine.models.KerasGraph#segment});
     * localPoolEvery: 0 trains the learned local model on the same stamps as the mixer, n >= 2 gives every n-th stamp
     * to the learned local model alone (a pool disjoint from the mixer's and the query model's); localDropout: the
     * fused settings' {@link AffTrainer.Config#localDropout()} (0: as the paper trains; 0.5 by default here).
     */
    public record Settings(int instances, int views, int steps, int batch, double lr, double weightDecay,
                           double alpha, int dim, int layers, int heads, int ffn, int mlpWidth, double scale,
                           double margin, int whitenDim, int headWidth, int maxLocal, int attentionHidden,
                           int attentionDim, int attentionKeep, int attentionSteps, int localPoolEvery,
                           double localDropout, long seed, String trunkCut, double tunedStep) {
        public Settings {
            if (localPoolEvery == 1 || localPoolEvery < 0) {
                throw new IllegalArgumentException("localPoolEvery must be 0 (one pool) or at least 2, not "
                        + localPoolEvery);
            }
        }

        /**
         * The query trunk frozen whole: fine-tuning its last layers (--trunk-cut block_11_add) scored lower on every
         * fused setting at this data scale; local dropout 0.5: without it the fused transformer settings scored
         * 12-30 mAP points lower in two seeds (README, "AFF on photographs").
         */
        public static Settings defaults() {
            return new Settings(0, 6, 1000, 64, 1e-3, 1e-4, 0.99, 128, 2, 4, 256, 256, 16, 0.2, 256, 256, 64, 256,
                    128, 32, 1000, 0, 0.5, 1, PhotoDescriber.MOBILENET_LAYER, 0.1);
        }

        /** A few minutes: 100 stamps, 2 views each, 120 steps, smaller widths. */
        public static Settings quick() {
            return new Settings(100, 2, 120, 32, 1e-3, 1e-4, 0.9, 64, 1, 4, 128, 128, 16, 0.2, 64, 128, 32, 64, 32,
                    16, 120, 0, 0.5, 1, PhotoDescriber.MOBILENET_LAYER, 0.1);
        }

        /** A setting's training; local dropout only where local sets are fused with other inputs. */
        AffTrainer.Config trainer(AffTrainer.Schedule schedule, double a, boolean fused) {
            return new AffTrainer.Config(steps, batch, lr, weightDecay, a, scale, margin, seed, schedule,
                    fused ? localDropout : 0);
        }
    }

    /** One setting's revisitop scores (%), its per-image costs (multiply-accumulates), its training time. */
    public record Row(String id, String setting, String query, String gallery, double easy, double medium,
                      double hard, double mediumMp10, long queryMacs, long galleryMacs, double trainSeconds) {}

    /**
     * The outcome. trainInstances: the stamps the mixer, the query model and the baselines trained on;
     * localInstances: those the learned local model trained on. Costs per image measured on this machine at batch 1:
     * the query model (trunk and head) and the gallery side (both backbones, SIFT, the learned local model, the mixer).
     */
    public record Result(int trainInstances, int trainViews, int localInstances, int queries, int galleryImages,
                         Settings settings, List<Row> rows, double queryMsPerImage, double galleryMsPerImage,
                         double describeSeconds, double seconds) {
        public Row row(String id) {
            return rows.stream().filter(r -> r.id().equals(id)).findFirst().orElseThrow(
                    () -> new IllegalArgumentException("no row " + id));
        }
    }

    private final Settings s;
    private final AffExperiment.Monitor monitor;
    private final RevisitopGround gnd;
    private final PhotoDescriber describer;
    private List<FeatureSpec> inputs;
    private FeatureStore trainStore;
    private FeatureStore galleryStore;
    private FeatureStore queryStore;
    private TrainingInputs trainMaps;
    private TrainingInputs queryMaps;
    private Map<String, List<Features.LocalSet>> galleryLocal;  // by local model
    private Map<String, List<Features.LocalSet>> queryLocal;
    private int poolStamps;  // training the mixer, the query model and the baselines
    private int localStamps;  // training the learned local model (the same ones unless localPoolEvery > 0)

    private PhotoExperiment(Settings s, AffExperiment.Monitor monitor, RevisitopGround gnd, PhotoDescriber d) {
        this.s = s;
        this.monitor = monitor;
        this.gnd = gnd;
        this.describer = d;
    }

    /**
     * Runs everything: training stamps from stampsCache (fetched when missing), the benchmark in benchmark
     * (revisitop layout), the imported backbones in backbones; feature stores go to work.
     */
    public static Result run(List<Path> stamps, Path benchmark, Path backbones, Path work, Settings s,
                             AffExperiment.Monitor monitor, int workers) throws IOException {
        long start = System.nanoTime();
        RevisitopGround gnd = RevisitopGround.read(benchmark.resolve("gnd_instances.pkl"));
        PhotoExperiment e = new PhotoExperiment(s, monitor, gnd, new PhotoDescriber(backbones, s.maxLocal(),
                s.trunkCut()));
        List<Path> chosen = choose(stamps, s.instances());
        // Describing and the cost measurement use every core per image; training runs settings side by side.
        int threads = get_num_threads();
        int cores = Runtime.getRuntime().availableProcessors();
        set_num_threads(cores);
        double describeSeconds = e.describe(chosen, benchmark, work);
        set_num_threads(threads);
        List<Row> rows = e.rows(workers);
        set_num_threads(cores);
        double[] costs = e.measureCosts(benchmark);
        set_num_threads(threads);
        return new Result(e.poolStamps, e.poolStamps * s.views(), e.localStamps, gnd.qimlist().size(),
                gnd.imlist().size(), s, rows, costs[0], costs[1], describeSeconds, (System.nanoTime() - start) / 1e9);
    }

    /** Every stamp, or n spread evenly over the sorted list (so every category keeps a share). */
    static List<Path> choose(List<Path> stamps, int n) {
        if (n <= 0 || n >= stamps.size()) {
            return stamps;
        }
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(stamps.get((int) ((long) i * stamps.size() / n)));
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Features

    private double describe(List<Path> stamps, Path benchmark, Path work) throws IOException {
        long t0 = System.nanoTime();
        int views = s.views();
        int nTrain = stamps.size() * views;
        DescribedCache cache = new DescribedCache(work.resolve("described"));
        DescribedCache.Key common = new DescribedCache.Key().add("photo-describer v2")
                .add(Integer.toString(s.maxLocal()));
        for (String model : List.of(PhotoDescriber.INCEPTION, PhotoDescriber.MOBILENET)) {
            common.addFile(describer.backbones.resolve(model).resolve("model.json"));  // holds the weights' CRC
        }
        DescribedCache.Key trainKey = common.copy().add(Integer.toString(views)).add(Long.toString(s.seed()));
        for (Path stamp : stamps) {
            trainKey.addFile(stamp);
        }
        Path jpg = benchmark.resolve("jpg");
        DescribedCache.Key benchmarkKey = common.copy().addFile(benchmark.resolve("gnd_instances.pkl"));
        for (String name : gnd.imlist()) {
            benchmarkKey.addFile(jpg.resolve(name + ".jpg"));
        }
        for (String name : gnd.qimlist()) {
            benchmarkKey.addFile(jpg.resolve(name + ".jpg"));
        }
        int[] labels = new int[nTrain];
        for (int i = 0; i < nTrain; i++) {
            labels[i] = i / views;
        }
        List<Part> parts = List.of(
                new Part("train", trainKey, "training views", labels, stamps.size(), i -> {
                    try {
                        return PhotoDescriber.rgb(view(TrainingStamps.read(stamps.get(i / views)), i / views,
                                i % views));
                    } catch (IOException ex) {
                        throw new java.io.UncheckedIOException(ex);
                    }
                }),
                new Part("gallery", benchmarkKey, "benchmark gallery", new int[gnd.imlist().size()], 1,
                        i -> readJpg(jpg, gnd.imlist().get(i))),
                new Part("queries", benchmarkKey, "benchmark queries", new int[gnd.qimlist().size()], 1,
                        i -> cropped(readJpg(jpg, gnd.qimlist().get(i)), gnd.queries().get(i).bbx())));
        // The learned local model trains on the training views' InceptionV3 maps, so its sets are cached under the
        // training key too. When they are not, describing keeps every part's maps (1.6 GB as fp16) for it.
        DescribedCache.Key attentionKey = trainKey.copy().add("attention v1").add(s.attentionHidden() + " "
                + s.attentionDim() + " " + s.attentionKeep() + " " + s.attentionSteps());
        if (s.localPoolEvery() > 0) {
            attentionKey.add("own pool: one stamp in " + s.localPoolEvery());
        }
        // Which training views train what: the learned local model's pool, and everything else's.
        int[] localViews = views(stamps.size(), true);
        int[] mixerViews = views(stamps.size(), false);
        List<PhotoDescriber.Described> cachedAttention = new ArrayList<>();
        for (Part part : parts) {
            cachedAttention.add(cache.find(part.name() + "-attention", part.attentionKey(attentionKey)));
        }
        boolean trainAttention = cachedAttention.contains(null);
        List<HalfMaps> inceptionMaps = new ArrayList<>();
        List<PhotoDescriber.Described> described = new ArrayList<>();
        for (Part part : parts) {
            HalfMaps m = trainAttention ? describer.inceptionMapsFor(part.labels(), part.classes()) : null;
            inceptionMaps.add(m);
            described.add(described(cache, part, m));
        }
        if (trainAttention) {
            cachedAttention = attention(cache, parts, attentionKey, inceptionMaps, localViews);
        }
        inceptionMaps.clear();  // the maps are done with: let them go before training
        PhotoDescriber.Described train = describer.select(described.get(0).withAttention(
                cachedAttention.get(0).attention()), mixerViews);
        int[] trainLabels = new int[mixerViews.length];  // the mixer pool's stamps numbered from 0
        for (int i = 0; i < trainLabels.length; i++) {
            trainLabels[i] = i / views;
        }
        poolStamps = mixerViews.length / views;
        localStamps = localViews.length / views;
        PhotoDescriber.Described gallery = described.get(1).withAttention(cachedAttention.get(1).attention());
        PhotoDescriber.Described queries = described.get(2).withAttention(cachedAttention.get(2).attention());
        // Whitening learned on the training views only.
        PcaWhitening incW = PcaWhitening.fit(train.inception(), describer.inceptionDim, s.whitenDim(), 0.1);
        PcaWhitening mobW = PcaWhitening.fit(train.mobilenet(), describer.mobilenetDim, s.whitenDim(), 0.1);
        FeatureSpec inc = FeatureSpec.global(PhotoDescriber.INCEPTION + "-" + PhotoDescriber.INCEPTION_LAYER
                + "-gem-pcaw", s.whitenDim(), Map.of("backbone", "InceptionV3 (ImageNet, TF.js), mixed7, GeM p 3",
                "whitening", "PCA on the training views, shrinkage 0.1"));
        FeatureSpec mob = FeatureSpec.global(PhotoDescriber.MOBILENET + "-block13-gem-pcaw", s.whitenDim(),
                Map.of("backbone", "MobileNetV2 (ImageNet, TF.js), block_13_expand_relu, GeM p 3",
                        "whitening", "PCA on the training views, shrinkage 0.1"));
        FeatureSpec attention = FeatureSpec.local(PhotoDescriber.INCEPTION + "-" + PhotoDescriber.INCEPTION_LAYER
                + "-attention", s.attentionDim(), s.attentionKeep(), Map.of("backbone", "InceptionV3 (ImageNet, "
                + "TF.js), mixed7, frozen", "head", "DELF-style attention " + s.attentionHidden() + " and 1x1 "
                + "descriptor, trained " + s.attentionSteps() + " steps on " + (s.localPoolEvery() > 0
                ? "the views of one stamp in " + s.localPoolEvery() + " (its own pool)" : "the training views"),
                "selection", "top " + s.attentionKeep() + " by attention"));
        inputs = List.of(inc, mob, describer.sift.spec(), attention);
        trainStore = store(work.resolve("train-features"), "tuxpaint-views", Dataset.Split.TRAIN, train, incW, mobW);
        galleryStore = store(work.resolve("gallery-features"), "instances-gallery", Dataset.Split.TEST, gallery,
                incW, mobW);
        queryStore = store(work.resolve("query-features"), "instances-queries", Dataset.Split.TEST, queries, incW,
                mobW);
        trainMaps = maps(train.maps(), trainLabels, poolStamps);
        queryMaps = maps(queries.maps(), new int[gnd.qimlist().size()], 1);
        galleryLocal = Map.of(inputs.get(2).name(), gallery.sift(), inputs.get(3).name(), gallery.attention());
        queryLocal = Map.of(inputs.get(2).name(), queries.sift(), inputs.get(3).name(), queries.attention());
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * The training views (stamp i's are i * views .. i * views + views - 1) of the learned local model's pool (local)
     * or of the mixer's: with localPoolEvery n, every n-th stamp belongs to the local model alone; with 0 both take
     * every view.
     */
    private int[] views(int stamps, boolean local) {
        int n = s.localPoolEvery();
        return java.util.stream.IntStream.range(0, stamps * s.views())
                .filter(v -> n == 0 || ((v / s.views()) % n == 0) == local).toArray();
    }

    /** A set of images to describe: its cache entries' name and key, labels, and how to make image i. */
    private record Part(String name, DescribedCache.Key key, String label, int[] labels, int classes,
                        IntFunction<RawImage> image) {
        DescribedCache.Key attentionKey(DescribedCache.Key attention) {
            return attention.copy().add(name).add(key.hex());
        }
    }

    /**
     * Trains the learned local model on the InceptionV3 maps of the training views in pool (instance discrimination,
     * as the gallery models were trained), keeps each image's top attention locations and caches them per part. A part
     * whose descriptions came from the cache has no maps yet: InceptionV3 runs over it again first.
     */
    private List<PhotoDescriber.Described> attention(DescribedCache cache, List<Part> parts,
                                                     DescribedCache.Key key, List<HalfMaps> maps, int[] pool)
            throws IOException {
        for (int p = 0; p < parts.size(); p++) {
            if (!maps.get(p).complete()) {
                Part part = parts.get(p);
                HalfMaps out = maps.get(p);
                withProgress("describe " + part.label() + " (InceptionV3 maps)", part.labels().length, part.image(),
                        (list, progress) -> {
                            describer.inceptionMaps(list, 8, progress, out);
                            return null;
                        });
            }
        }
        AttentionLocal net;
        synchronized (AffTrainer.SEEDING) {
            manual_seed(s.seed());
            net = describer.attentionLocal(s.attentionHidden(), s.attentionDim());
        }
        List<Trainer.Point> curve;
        try (AffExperiment.Monitor.Task task = monitor.start("train the learned local model", s.attentionSteps())) {
            curve = Trainer.train(net, TrainingInputs.subset(maps.get(0), pool),
                    new Trainer.Config(s.attentionSteps(), 64, 0.05, 0.9, 1e-4, s.seed(), 100), done -> task.step());
        }
        Trainer.Point last = curve.get(curve.size() - 1);
        System.err.printf(java.util.Locale.ROOT, "learned local model: loss %.3f, training accuracy %.3f at step %d%n",
                last.loss(), last.accuracy(), last.step());
        List<PhotoDescriber.Described> out = new ArrayList<>();
        for (int p = 0; p < parts.size(); p++) {
            HalfMaps m = maps.get(p);
            List<Features.LocalSet> sets = new ArrayList<>();
            for (int start = 0; start < m.size(); start += 64) {
                try (PointerScope scope = new PointerScope()) {
                    int[] batch = java.util.stream.IntStream.range(start, Math.min(m.size(), start + 64)).toArray();
                    sets.addAll(List.of(net.extract(m.inputs(batch), s.attentionKeep())));
                }
            }
            PhotoDescriber.Described d = PhotoDescriber.Described.attentionOnly(sets);
            cache.put(parts.get(p).name() + "-attention", parts.get(p).attentionKey(key), d);
            out.add(d);
        }
        return out;
    }

    /** View v of stamp i: over a background colour drawn for it, easy for even v, hard for odd. */
    private BufferedImage view(BufferedImage stamp, int i, int v) {
        SplittableRandom rnd = new SplittableRandom(s.seed() * 1_000_003L + i * 97L + v);
        int grey = 96 + rnd.nextInt(128);
        int tint = rnd.nextInt(0x303030);
        return TrainingStamps.view(stamp, ((grey << 16) | (grey << 8) | grey) ^ tint, v % 2 == 1, 320,
                rnd.nextLong());
    }

    /**
     * A part's descriptions from the cache: the backbones' under its key, the trunk maps under its key and the cut,
     * so a new cut reruns only MobileNetV2 up to it. When the backbones run, their InceptionV3 maps go to
     * inceptionMaps unless it is null.
     */
    private PhotoDescriber.Described described(DescribedCache cache, Part part, HalfMaps inceptionMaps)
            throws IOException {
        float[][] fresh = {null};
        int n = part.labels().length;
        PhotoDescriber.Described base = cache.get(part.name(), part.key(), () -> {
            PhotoDescriber.Described d = withProgress("describe " + part.label(), n, part.image(),
                    (list, progress) -> describer.describe(list, 8, progress, inceptionMaps));
            fresh[0] = d.maps();
            return d.withMaps(new float[0]);
        });
        PhotoDescriber.Described maps = cache.get(part.name() + "-maps", part.key().copy().add(describer.trunkCut),
                () -> PhotoDescriber.Described.mapsOnly(fresh[0] != null ? fresh[0]
                        : withProgress("describe " + part.label() + " (trunk maps at " + describer.trunkCut + ")", n,
                                part.image(), (list, progress) -> describer.maps(list, 8, progress))));
        return base.withMaps(maps.maps());
    }

    /** Runs work over n images (made on demand) under a progress bar that counts the images done. */
    private <T> T withProgress(String label, int n, IntFunction<RawImage> image,
                               java.util.function.BiFunction<List<RawImage>, java.util.function.IntConsumer, T> work) {
        try (AffExperiment.Monitor.Task task = monitor.start(label, n)) {
            int[] done = {0};
            List<RawImage> list = new java.util.AbstractList<>() {
                @Override
                public RawImage get(int i) {
                    return image.apply(i);
                }

                @Override
                public int size() {
                    return n;
                }
            };
            return work.apply(list, upTo -> {
                while (done[0] < upTo) {
                    task.step();
                    done[0]++;
                }
            });
        }
    }

    private static RawImage readJpg(Path dir, String name) {
        try {
            BufferedImage img = ImageIO.read(dir.resolve(name + ".jpg").toFile());
            if (img == null) {
                throw new IOException("not an image: " + dir.resolve(name + ".jpg"));
            }
            return PhotoDescriber.rgb(img);
        } catch (IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    private static RawImage cropped(RawImage img, double[] bbx) {
        return bbx == null ? img : ImageCodec.crop(img, bbx[0], bbx[1], bbx[2], bbx[3]);
    }

    private FeatureStore store(Path dir, String name, Dataset.Split split, PhotoDescriber.Described d,
                               PcaWhitening incW, PcaWhitening mobW) throws IOException {
        int n = d.sift().size();
        float[] inc = incW.apply(d.inception());
        float[] mob = mobW.apply(d.mobilenet());
        Directories.deleteTree(dir);
        try (FeatureStoreWriter w = FeatureStoreWriter.open(dir, name, split, n, 512, inputs)) {
            for (int i = 0; i < n; i++) {
                Map<String, float[]> global = new HashMap<>();
                global.put(inputs.get(0).name(), java.util.Arrays.copyOfRange(inc, i * s.whitenDim(),
                        (i + 1) * s.whitenDim()));
                global.put(inputs.get(1).name(), java.util.Arrays.copyOfRange(mob, i * s.whitenDim(),
                        (i + 1) * s.whitenDim()));
                w.append(new Features(global, Map.of(inputs.get(2).name(), d.sift().get(i), inputs.get(3).name(),
                        d.attention().get(i))));
            }
        }
        return FeatureStore.open(dir, inputs);
    }

    private TrainingInputs maps(float[] values, int[] labels, int classes) {
        return TrainingInputs.arrays(values, labels, classes, describer.mapChannels, describer.mapSide,
                describer.mapSide);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Settings

    private record Trained(Row row, GalleryEncoder encoder, TrunkHead query, float[] gallery) {}

    private List<Row> rows(int workers) throws IOException {
        List<Row> rows = new ArrayList<>();
        long incMacs = describer.inceptionMacs();
        long mobMacs = describer.mobilenetMacs();
        long headMacs = describer.attentionLocal(s.attentionHidden(), s.attentionDim()).macs();
        Map<String, Long> macs = Map.of(inputs.get(0).name(), incMacs, inputs.get(1).name(), mobMacs,
                inputs.get(2).name(), 0L, inputs.get(3).name(), incMacs + headMacs);
        long globalMacs = incMacs + mobMacs;
        long allMacs = globalMacs + headMacs;  // InceptionV3 runs once for its GeM and the learned local model
        for (FeatureSpec f : inputs) {
            if (f.kind() == FeatureSpec.Kind.GLOBAL) {
                SingleFeature single = new SingleFeature(f);
                rows.add(row("symmetric:" + f.name(), "symmetric " + f.name(), f.name(), f.name(),
                        AffTrainer.galleryVectors(single, queryStore, 256),
                        AffTrainer.galleryVectors(single, galleryStore, 256), f.dim(), macs.get(f.name()),
                        macs.get(f.name()), 0));
            } else {
                rows.add(score("symmetric:" + f.name(), "symmetric " + f.name() + " (ratio-test voting)", f.name(),
                        f.name(), RevisitopEval.evaluate(LocalVoting.rank(queryLocal.get(f.name()),
                                galleryLocal.get(f.name()), f.dim(), 0.85), gnd), macs.get(f.name()),
                        macs.get(f.name()), 0));
            }
        }
        String fused = "all " + inputs.size() + " fused";
        List<Callable<Trained>> jobs = new ArrayList<>();
        for (FeatureSpec f : inputs) {
            jobs.add(() -> train("asymmetric:" + f.name(), "asymmetric " + f.name() + " (BCT-style: frozen "
                    + "classifier)", f.name(), macs.get(f.name()), () -> new SingleFeature(f),
                    AffTrainer.Schedule.TWO_STAGE, 1.0, f.dim()));
        }
        jobs.add(() -> train("aff", "AFF: transformer mixer, momentum classifier (alpha " + s.alpha() + ")", fused,
                allMacs, this::mixer, AffTrainer.Schedule.JOINT, s.alpha(), s.dim()));
        jobs.add(() -> train("mlp", "concat-MLP mixer, momentum classifier (alpha " + s.alpha() + ")", fused,
                allMacs, () -> new MlpMixer(inputs, s.dim(), s.mlpWidth()), AffTrainer.Schedule.JOINT, s.alpha(),
                s.dim()));
        jobs.add(() -> train("coupled", "AFF, coupled classifier (alpha 0)", fused, allMacs, this::mixer,
                AffTrainer.Schedule.JOINT, 0, s.dim()));
        jobs.add(() -> train("two-stage", "AFF, two-stage (mixer first, then query model)", fused, allMacs,
                this::mixer, AffTrainer.Schedule.TWO_STAGE, 1.0, s.dim()));
        // Diagnostics: the same mixer without SIFT's tokens, and without any local tokens, to see what each kind of
        // local feature does to the asymmetric side.
        List<FeatureSpec> globals = inputs.stream().filter(f -> f.kind() == FeatureSpec.Kind.GLOBAL).toList();
        List<FeatureSpec> learned = List.of(inputs.get(0), inputs.get(1), inputs.get(3));
        jobs.add(() -> train("aff-learned", "AFF without SIFT (global models + learned local)", "the "
                + globals.size() + " global models and the learned local model fused", allMacs,
                () -> new DynamicMixer(learned, new DynamicMixer.Config(s.dim(), s.layers(), s.heads(), s.ffn())),
                AffTrainer.Schedule.JOINT, s.alpha(), s.dim()));
        jobs.add(() -> train("aff-global", "AFF on the global models only (no local tokens)", "the "
                + globals.size() + " global models fused", globalMacs, () -> new DynamicMixer(globals,
                new DynamicMixer.Config(s.dim(), s.layers(), s.heads(), s.ffn())), AffTrainer.Schedule.JOINT,
                s.alpha(), s.dim()));
        List<Trained> trained = AffExperiment.runAll(jobs, workers);
        trained.forEach(t -> rows.add(t.row()));
        Trained aff = trained.stream().filter(t -> t.row().id().equals("aff")).findFirst().orElseThrow();
        long mixerMacs = allMacs + aff.encoder().macs();
        rows.add(row("symmetric:mixer", "symmetric mixer (mixer vectors on both sides: gallery ceiling)", fused,
                fused, AffTrainer.galleryVectors(aff.encoder(), queryStore, 256), aff.gallery(), s.dim(), mixerMacs,
                mixerMacs, 0));
        TrunkHead untrained = head(s.dim());
        rows.add(row("untrained", "untrained query model vs the AFF gallery (floor)", untrained.modelName(), fused,
                AffTrainer.queryVectors(untrained, queryMaps, 256), aff.gallery(), s.dim(), untrained.macs(),
                mixerMacs, 0));
        return rows;
    }

    private DynamicMixer mixer() {
        return new DynamicMixer(inputs, new DynamicMixer.Config(s.dim(), s.layers(), s.heads(), s.ffn()));
    }

    /** A fresh query model: the tuned MobileNetV2 layers as imported, a new head drawn from the seed. */
    private TrunkHead head(int dim) {
        synchronized (AffTrainer.SEEDING) {
            manual_seed(s.seed());
            return new TrunkHead(PhotoDescriber.MOBILENET + "-" + s.trunkCut(), describer.trunkMacs(),
                    describer.tunedLayers(s.tunedStep()), describer.mapSide, describer.mobilenetDim, s.headWidth(),
                    dim);
        }
    }

    private Trained train(String id, String setting, String gallery, long galleryMacs,
                          Supplier<GalleryEncoder> make, AffTrainer.Schedule schedule, double alpha, int dim) {
        TrunkHead query;
        GalleryEncoder encoder;
        synchronized (AffTrainer.SEEDING) {
            query = head(dim);
            encoder = make.get();
        }
        long t0 = System.nanoTime();
        int steps = schedule == AffTrainer.Schedule.JOINT ? s.steps() : 2 * s.steps();
        try (AffExperiment.Monitor.Task task = monitor.start(id, steps)) {
            AffTrainer.train(encoder, query, trainStore, trainMaps,
                    s.trainer(schedule, schedule == AffTrainer.Schedule.JOINT ? alpha : 0,
                            encoder.inputs().size() > 1), task);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        float[] galleryVectors = AffTrainer.galleryVectors(encoder, galleryStore, 256);
        Row r = row(id, setting, query.modelName(), gallery, AffTrainer.queryVectors(query, queryMaps, 256),
                galleryVectors, encoder.dim(), query.macs(), galleryMacs + encoder.macs(), seconds);
        return new Trained(r, encoder, query, galleryVectors);
    }

    private Row row(String id, String setting, String query, String gallery, float[] queries, float[] galleryVectors,
                    int dim, long queryMacs, long galleryMacs, double seconds) {
        return score(id, setting, query, gallery, RevisitopEval.evaluate(ranks(queries, galleryVectors, dim), gnd),
                queryMacs, galleryMacs, seconds);
    }

    private static Row score(String id, String setting, String query, String gallery, RevisitopEval.Result r,
                             long queryMacs, long galleryMacs, double seconds) {
        return new Row(id, setting, query, gallery, 100 * r.easy().map(), 100 * r.medium().map(),
                100 * r.hard().map(), 100 * r.medium().mp(10), queryMacs, galleryMacs, seconds);
    }

    /** Every query's full ranking of the gallery by inner product. */
    static int[][] ranks(float[] queries, float[] gallery, int dim) {
        int n = gallery.length / dim;
        int nq = queries.length / dim;
        try (ExactIndex index = new ExactIndex(dim, Metric.INNER_PRODUCT)) {
            long[] ids = new long[n];
            for (int i = 0; i < n; i++) {
                ids[i] = i;
            }
            index.add(gallery, ids);
            int[][] out = new int[nq][];
            for (int q = 0; q < nq; q++) {
                long[] ranked = index.search(java.util.Arrays.copyOfRange(queries, q * dim, (q + 1) * dim), n).ids();
                out[q] = java.util.Arrays.stream(ranked).mapToInt(Math::toIntExact).toArray();
            }
            return out;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Costs

    /**
     * Milliseconds per image at batch 1 on this machine, every core (median of 9 benchmark images, after a
     * warm-up): the query model (trunk + head) and the gallery side (InceptionV3 and MobileNetV2 GeM, SIFT, the
     * learned local model, the AFF mixer).
     */
    private double[] measureCosts(Path benchmark) {
        Path jpg = benchmark.resolve("jpg");
        TrunkHead head = head(s.dim());
        head.train(false);
        DynamicMixer mix = mixer();
        mix.train(false);
        AttentionLocal local = describer.attentionLocal(s.attentionHidden(), s.attentionDim());
        int reps = Math.min(9, gnd.imlist().size());
        double[] query = new double[reps];
        double[] gallery = new double[reps];
        float[] map = new float[describer.mapValues()];
        for (int r = -1; r < reps; r++) {
            RawImage img = readJpg(jpg, gnd.imlist().get(Math.max(r, 0)));
            long t0 = System.nanoTime();
            describer.trunk(List.of(img), null, 0, map, 0);
            try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                head.embed(Tensor.create(map, 1, describer.mapChannels, describer.mapSide, describer.mapSide));
            }
            long t1 = System.nanoTime();
            HalfMaps inceptionMap = describer.inceptionMapsFor(new int[1], 1);
            describer.describe(List.of(img), 1, i -> { }, inceptionMap);
            try (PointerScope scope = new PointerScope()) {
                local.extract(inceptionMap.inputs(new int[] {0}), s.attentionKeep());
            }
            try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                GalleryBatches.Batch b = GalleryBatches.load(galleryStore, inputs, new int[] {0});
                mix.forward(b.features(), b.padding());
            }
            long t2 = System.nanoTime();
            if (r >= 0) {
                query[r] = (t1 - t0) / 1e6;
                gallery[r] = (t2 - t1) / 1e6;
            }
        }
        java.util.Arrays.sort(query);
        java.util.Arrays.sort(gallery);
        return new double[] {query[reps / 2], gallery[reps / 2]};
    }
}
