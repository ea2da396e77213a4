package org.affengine.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import org.affengine.data.Dataset;
import org.affengine.data.FeatureSpec;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.OutputArchive;

/**
 * The built-in gallery models for 28x28 grey images (Fashion-MNIST), by name, and their weights on disk: trained
 * once on the train split and kept as {@code <dir>/<model>.pt} (LibTorch archive). The spec saved with every
 * feature store names the architecture, the input, the training and the weights' checksum.
 */
public final class GalleryModels {
    public static final List<String> NAMES = List.of("resnet-gem", "vgg-gem", "delf");
    /** Local descriptors kept per image by the DELF-style model. */
    public static final int MAX_LOCAL = 16;

    private GalleryModels() {}

    public static TrainableNet create(String name) {
        return switch (name) {
            case "resnet-gem" -> new ResNetGem(12, 1, 128);
            case "vgg-gem" -> new VggGem(16, 96);
            case "delf" -> new DelfLocal(16, 32);
            default -> throw new IllegalArgumentException("unknown gallery model '" + name + "' (built in: "
                    + NAMES + ")");
        };
    }

    public static FeatureSpec spec(String name, TrainableNet net, Path weights, int steps) throws IOException {
        Map<String, String> details = new LinkedHashMap<>();
        details.put("architecture", net.modelName());
        details.put("input", "28x28x1, (pixel/255 - 0.2860) / 0.3530");
        details.put("training", "cross-entropy, SGD momentum 0.9, " + steps + " steps of 64");
        byte[] bytes = Files.readAllBytes(weights);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes);
        details.put("weights_crc32c", String.format("%08x", crc.getValue()));
        return net instanceof DelfLocal ? FeatureSpec.local(name, net.dim(), MAX_LOCAL, details)
                : FeatureSpec.global(name, net.dim(), details);
    }

    /** Loads the model's weights from dir, or trains it on the training split and saves them there first. */
    public static TrainableNet trainOrLoad(String name, Path dir, Dataset train, int steps, long seed,
                                           IntConsumer progress) throws IOException {
        TrainableNet net = create(name);
        Path weights = weightsFile(dir, name);
        if (!Files.exists(weights)) {
            Files.createDirectories(dir);
            Trainer.train(net, train, new Trainer.Config(steps, 64, 0.05, 0.9, 1e-4, seed, 100), progress);
            OutputArchive archive = new OutputArchive();
            net.save(archive);
            Path tmp = dir.resolve(name + ".pt.tmp");
            archive.save_to(tmp.toString());
            Files.move(tmp, weights, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            net.train(false);
            return net;
        }
        return load(name, dir);
    }

    /** The model with its saved weights, in evaluation mode. */
    public static TrainableNet load(String name, Path dir) throws IOException {
        TrainableNet net = create(name);
        Path weights = weightsFile(dir, name);
        InputArchive archive = new InputArchive();
        try {
            archive.load_from(weights.toString());
            net.load(archive);
        } catch (RuntimeException e) {
            throw new IOException(weights + ": cannot load weights for " + name + ": " + e.getMessage(), e);
        }
        net.train(false);
        return net;
    }

    public static Path weightsFile(Path dir, String name) {
        return dir.resolve(name + ".pt");
    }
}
