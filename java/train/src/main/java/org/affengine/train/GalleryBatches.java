package org.affengine.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import org.affengine.data.FeatureSpec;
import org.affengine.data.FeatureStore;
import org.affengine.data.Features;
import org.bytedeco.pytorch.Tensor;

/** Gathers the stored gallery features of a batch of images into the mixer's inputs: tensors and padding masks. */
final class GalleryBatches {
    record Batch(List<Tensor> features, List<Tensor> padding) {}

    private GalleryBatches() {}

    /** The given features (a subset of the store's, in the encoder's order) of the images at indices. */
    static Batch load(FeatureStore store, List<FeatureSpec> specs, int[] indices) {
        List<Features> items = new ArrayList<>();
        for (int i : indices) {
            Map<String, float[]> global = new HashMap<>();
            Map<String, Features.LocalSet> local = new HashMap<>();
            for (FeatureSpec spec : specs) {
                if (spec.kind() == FeatureSpec.Kind.GLOBAL) {
                    global.put(spec.name(), store.global(spec.name(), i));
                } else {
                    local.put(spec.name(), store.local(spec.name(), i));
                }
            }
            items.add(new Features(global, local));
        }
        return of(specs, items);
    }

    /** The given features of a list of images (as extraction produced them), as mixer inputs. */
    static Batch of(List<FeatureSpec> specs, List<Features> items) {
        List<Tensor> features = new ArrayList<>();
        List<Tensor> padding = new ArrayList<>();
        int b = items.size();
        for (FeatureSpec spec : specs) {
            int d = spec.dim();
            if (spec.kind() == FeatureSpec.Kind.GLOBAL) {
                float[] v = new float[b * d];
                for (int i = 0; i < b; i++) {
                    System.arraycopy(items.get(i).global().get(spec.name()), 0, v, i * d, d);
                }
                features.add(Tensor.create(v, b, d));
                padding.add(null);
            } else {
                int n = spec.maxLocal();
                float[] v = new float[b * n * d];
                boolean[] pad = new boolean[b * n];
                for (int i = 0; i < b; i++) {
                    Features.LocalSet l = items.get(i).local().get(spec.name());
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
