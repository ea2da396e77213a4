package org.affengine.train;

import org.affengine.data.Dataset;
import org.affengine.models.ImageBatches;
import org.bytedeco.pytorch.Tensor;

/**
 * The query side of training: what the query model embeds for a batch of training items, and their labels. Images
 * for a model trained end to end; cached feature maps of a frozen trunk for a head trained on top of one.
 */
public interface QueryInputs {
    int size();

    /** Number of classes; labels are 0 .. classes() - 1. */
    int classes();

    /** The query model's input for the items at indices. */
    Tensor inputs(int[] indices);

    /** Their labels [B], int64. */
    Tensor labels(int[] indices);

    /** A dataset's images, normalised as the built-in query model takes them. */
    static QueryInputs images(Dataset data) {
        return new QueryInputs() {
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
