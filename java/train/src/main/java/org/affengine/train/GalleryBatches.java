package org.affengine.train;

import java.util.ArrayList;
import java.util.List;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.data.Features;
import org.bytedeco.pytorch.Tensor;

/** Gathers the stored gallery features of a batch of images into the mixer's inputs: tensors and padding masks. */
final class GalleryBatches {
    record Batch(List<Tensor> features, List<Tensor> padding) {}

    private GalleryBatches() {}

    static Batch load(FeatureStore store, int[] indices) {
        List<Tensor> features = new ArrayList<>();
        List<Tensor> padding = new ArrayList<>();
        int b = indices.length;
        for (FeatureSpec spec : store.models()) {
            int d = spec.dim();
            if (spec.kind() == FeatureSpec.Kind.GLOBAL) {
                float[] v = new float[b * d];
                for (int i = 0; i < b; i++) {
                    System.arraycopy(store.global(spec.name(), indices[i]), 0, v, i * d, d);
                }
                features.add(Tensor.create(v, b, d));
                padding.add(null);
            } else {
                int n = spec.maxLocal();
                float[] v = new float[b * n * d];
                boolean[] pad = new boolean[b * n];
                for (int i = 0; i < b; i++) {
                    Features.LocalSet l = store.local(spec.name(), indices[i]);
                    System.arraycopy(l.rows(), 0, v, i * n * d, l.count() * d);
                    for (int k = l.count(); k < n; k++) {
                        pad[i * n + k] = true;
                    }
                }
                features.add(Tensor.create(v, b, n, d));
                padding.add(Tensor.create(pad).reshape(b, n));
            }
        }
        return new Batch(features, padding);
    }
}
