package org.affengine.models;

import org.affengine.data.Dataset;
import org.bytedeco.pytorch.Tensor;

/**
 * What a network embeds in training, by item, and the items' labels: images for a network trained end to end; cached
 * feature maps of a frozen backbone for a head trained on top of one (the photo experiment's query head and its
 * learned local model).
 */
public interface TrainingInputs {
    int size();

    /** Number of classes; labels are 0 .. classes() - 1. */
    int classes();

    /** The network's input for the items at indices. */
    Tensor inputs(int[] indices);

    /** Their labels [B], int64. */
    Tensor labels(int[] indices);

    /** A dataset's images, normalised as the built-in networks take them ({@link ImageBatches}). */
    static TrainingInputs images(Dataset data) {
        return new TrainingInputs() {
            @Override
            public int size() {
                return data.size();
            }

            @Override
            public int classes() {
                return data.classes();
            }

            @Override
            public Tensor inputs(int[] indices) {
                return ImageBatches.load(data, indices).images();
            }

            @Override
            public Tensor labels(int[] indices) {
                return ImageBatches.labels(data, indices);
            }
        };
    }

    /**
     * Items held in memory, each a float array of itemShape (e.g. a frozen backbone's [C, H, W] map), row-major one
     * after another in values, with their labels.
     */
    static TrainingInputs arrays(float[] values, int[] labels, int classes, long... itemShape) {
        long per = 1;
        for (long d : itemShape) {
            per = Math.multiplyExact(per, d);
        }
        if (values.length != (long) labels.length * per) {
            throw new IllegalArgumentException(values.length + " values are not " + labels.length + " items of "
                    + java.util.Arrays.toString(itemShape));
        }
        int size = (int) per;
        long[] shape = itemShape.clone();
        return new TrainingInputs() {
            @Override
            public int size() {
                return labels.length;
            }

            @Override
            public int classes() {
                return classes;
            }

            @Override
            public Tensor inputs(int[] indices) {
                float[] batch = new float[indices.length * size];
                for (int i = 0; i < indices.length; i++) {
                    System.arraycopy(values, indices[i] * size, batch, i * size, size);
                }
                long[] batchShape = new long[shape.length + 1];  // one per call: settings train in parallel
                batchShape[0] = indices.length;
                System.arraycopy(shape, 0, batchShape, 1, shape.length);
                return Tensor.create(batch, batchShape);
            }

            @Override
            public Tensor labels(int[] indices) {
                return labelsAt(labels, indices);
            }
        };
    }

    /**
     * The items of all at positions items, in that order, with their labels and all's classes (so classes with no
     * item left simply never occur).
     */
    static TrainingInputs subset(TrainingInputs all, int[] items) {
        for (int i : items) {
            if (i < 0 || i >= all.size()) {
                throw new IllegalArgumentException("item " + i + " is not among the " + all.size());
            }
        }
        int[] chosen = items.clone();
        return new TrainingInputs() {
            @Override
            public int size() {
                return chosen.length;
            }

            @Override
            public int classes() {
                return all.classes();
            }

            @Override
            public Tensor inputs(int[] indices) {
                return all.inputs(map(indices));
            }

            @Override
            public Tensor labels(int[] indices) {
                return all.labels(map(indices));
            }

            private int[] map(int[] indices) {
                int[] out = new int[indices.length];
                for (int i = 0; i < indices.length; i++) {
                    out[i] = chosen[indices[i]];
                }
                return out;
            }
        };
    }

    /** labels[indices] as the int64 tensor [B] that {@link #labels} gives. */
    static Tensor labelsAt(int[] labels, int[] indices) {
        long[] l = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            l[i] = labels[indices[i]];
        }
        return Tensor.create(l, indices.length);
    }
}
