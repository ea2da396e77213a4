package org.affengine.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.affengine.data.FeatureSpec;
import org.affengine.models.GalleryModels;
import org.affengine.models.TrainableNet;
import org.bytedeco.pytorch.OutputArchive;

/**
 * A complete AFF model with random weights, written as training would write it: the built-in gallery models'
 * weights in dir/models and a bundle (mixer + query model) in dir/bundle. It runs every code path of the engine in
 * seconds, so tests and first experiments with the service need no training; its rankings mean nothing.
 */
public final class UntrainedModel {
    private UntrainedModel() {}

    public static AffModel write(Path dir, int dim, long seed) throws IOException {
        org.bytedeco.pytorch.global.torch.manual_seed(seed);
        Path weights = dir.resolve("models");
        Files.createDirectories(weights);
        List<FeatureSpec> specs = new ArrayList<>();
        for (String name : GalleryModels.NAMES) {
            TrainableNet net = GalleryModels.create(name);
            OutputArchive archive = new OutputArchive();
            net.save(archive);
            archive.save_to(GalleryModels.weightsFile(weights, name).toString());
            specs.add(GalleryModels.spec(name, net, GalleryModels.weightsFile(weights, name), 0));
        }
        ModelBundle.save(dir.resolve("bundle"), new DynamicMixer(specs, new DynamicMixer.Config(dim, 1, 4, 2 * dim)),
                new QueryNet(dim), Map.of("note", "untrained: random weights"));
        return AffModel.load(dir.resolve("bundle"), weights);
    }
}
