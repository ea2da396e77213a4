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
}
