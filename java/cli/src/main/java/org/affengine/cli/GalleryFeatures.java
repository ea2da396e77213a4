package org.affengine.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.affengine.data.Dataset;
import org.affengine.data.FashionMnist;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.models.GalleryExtraction;
import org.affengine.models.GalleryModels;
import org.affengine.models.Layers;
import org.affengine.models.TrainableNet;
import org.affengine.train.AffExperiment;

/** The built-in gallery models (trained on first use, with a progress bar) and their feature stores. */
final class GalleryFeatures {
    final Map<String, TrainableNet> nets = new LinkedHashMap<>();
    final List<FeatureSpec> specs = new ArrayList<>();

    /** Loads each model's weights from the weights folder, or trains it on trainImages and saves them there. */
    GalleryFeatures(List<String> models, Path weights, Dataset trainImages, int trainSteps, long seed)
            throws IOException {
        for (String name : models) {
            boolean cached = Files.exists(GalleryModels.weightsFile(weights, name));
            try (ProgressBar bar = new ProgressBar((cached ? "load " : "train ") + name, cached ? 1 : trainSteps,
                    "step")) {
                TrainableNet net = GalleryModels.trainOrLoad(name, weights, trainImages, trainSteps, seed,
                        bar::advance);
                nets.put(name, net);
                specs.add(GalleryModels.spec(name, net, GalleryModels.weightsFile(weights, name), trainSteps));
            }
        }
    }

    /** Extracts the images' features into the store (resuming an interrupted one) and opens it. */
    GalleryExtraction.Timing extract(Dataset data, Path store) throws IOException {
        try (ProgressBar bar = new ProgressBar("extract " + data.split().name().toLowerCase(java.util.Locale.ROOT),
                data.size(), "img")) {
            return GalleryExtraction.extract(data, nets, specs, store, 1000, 250, bar::advance);
        }
    }

    FeatureStore open(Path store) throws IOException {
        return FeatureStore.open(store, specs);
    }

    /**
     * Fashion-MNIST ready for AFF training: the built-in gallery models (trained on the train split when their
     * weights are missing), the first nTrain training and nTest test images and their feature stores (extracted
     * when missing, named as `aff extract` names them so its stores are reused), and the models' costs.
     */
    static AffExperiment.Data fashionMnist(Path weights, Path stores, int nTrain, int nTest, int galleryModelSteps,
                                           long seed) throws IOException {
        Dataset train = FashionMnist.load(Dataset.Split.TRAIN);
        Dataset test = FashionMnist.load(Dataset.Split.TEST);
        if (nTrain < 2 || nTest < 2 || nTrain > train.size() || nTest > test.size()) {
            throw new IllegalArgumentException("use 2 to " + train.size() + " training and 2 to " + test.size()
                    + " test images");
        }
        Dataset trainPart = train.first(nTrain);
        Dataset testPart = test.first(nTest);
        GalleryFeatures gallery = new GalleryFeatures(GalleryModels.NAMES, weights, train, galleryModelSteps, seed);
        Path trainStore = stores.resolve(storeName(Dataset.Split.TRAIN, nTrain, train.size()));
        Path testStore = stores.resolve(storeName(Dataset.Split.TEST, nTest, test.size()));
        gallery.extract(trainPart, trainStore);
        gallery.extract(testPart, testStore);
        Map<String, AffExperiment.Cost> costs = new LinkedHashMap<>();
        for (Map.Entry<String, TrainableNet> e : gallery.nets.entrySet()) {
            costs.put(e.getKey(), new AffExperiment.Cost(e.getValue().macs(), Layers.parameterCount(e.getValue())));
        }
        return new AffExperiment.Data(trainPart, gallery.open(trainStore), testPart, gallery.open(testStore), costs);
    }

    /** The store folder `aff extract` uses for the first n of a split's images. */
    static String storeName(Dataset.Split split, int n, int all) {
        String name = "fashion-mnist-" + split.name().toLowerCase(java.util.Locale.ROOT);
        return n == all ? name : name + "-" + n;
    }
}
