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
        Raw raw = raw(specs, items);
        int b = items.size();
        List<Tensor> features = new ArrayList<>();
        List<Tensor> padding = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            FeatureSpec spec = specs.get(i);
            if (spec.kind() == FeatureSpec.Kind.GLOBAL) {
                features.add(Tensor.create(raw.values().get(i), b, spec.dim()));
                padding.add(null);
            } else {
                features.add(Tensor.create(raw.values().get(i), b, spec.maxLocal(), spec.dim()));
                padding.add(Tensor.create(raw.padding().get(i)).reshape(b, spec.maxLocal()));
            }
        }
        return new Batch(features, padding);
    }

    /** A batch as the native mixer takes it: every input's values, input after input, then the local inputs' padding. */
    record Packed(float[] features, byte[] padding) {}

    static Packed packed(List<FeatureSpec> specs, List<Features> items) {
        Raw raw = raw(specs, items);
        int floats = raw.values().stream().mapToInt(v -> v.length).sum();
        int bytes = raw.padding().stream().mapToInt(p -> p == null ? 0 : p.length).sum();
        float[] features = new float[floats];
        byte[] padding = new byte[bytes];
        int f = 0, p = 0;
        for (int i = 0; i < specs.size(); i++) {
            float[] v = raw.values().get(i);
            System.arraycopy(v, 0, features, f, v.length);
            f += v.length;
            boolean[] pad = raw.padding().get(i);
            for (int k = 0; pad != null && k < pad.length; k++) {
                padding[p++] = (byte) (pad[k] ? 1 : 0);
            }
        }
        return new Packed(features, padding);
    }

    /** Per input: its values ([b, dim], or [b, maxLocal, dim] zero-padded) and, for local inputs, the padding mask. */
    private record Raw(List<float[]> values, List<boolean[]> padding) {}

    private static Raw raw(List<FeatureSpec> specs, List<Features> items) {
        List<float[]> values = new ArrayList<>();
        List<boolean[]> padding = new ArrayList<>();
        int b = items.size();
        for (FeatureSpec spec : specs) {
            int d = spec.dim();
            if (spec.kind() == FeatureSpec.Kind.GLOBAL) {
                float[] v = new float[b * d];
                for (int i = 0; i < b; i++) {
                    System.arraycopy(items.get(i).global().get(spec.name()), 0, v, i * d, d);
                }
                values.add(v);
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
                values.add(v);
                padding.add(pad);
            }
        }
        return new Raw(values, padding);
    }
}
