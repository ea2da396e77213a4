package org.affengine.models;

import org.affengine.data.Dataset;
import org.affengine.data.ImageCodec;
import org.affengine.data.LabelledImage;
import org.affengine.data.RawImage;
import org.bytedeco.pytorch.Tensor;

/** Turns dataset items into LibTorch batches: float images [B, C, H, W], normalised, and int64 labels [B]. */
public final class ImageBatches {
    /** Fashion-MNIST's pixel mean and standard deviation (on [0, 1]). */
    public static final float[] FASHION_MEAN = {0.2860f};
    public static final float[] FASHION_STD = {0.3530f};

    public record Batch(Tensor images, Tensor labels) {}

    private ImageBatches() {}

    /** Only the labels [B] int64 of the items. */
    public static Tensor labels(Dataset data, int[] indices) {
        long[] labels = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            labels[i] = data.get(indices[i]).label();
        }
        return Tensor.create(labels, indices.length);
    }

    public static Batch load(Dataset data, int[] indices) {
        LabelledImage first = data.get(indices[0]);
        RawImage shape = first.image();
        int plane = shape.channels() * shape.width() * shape.height();
        float[] pixels = new float[indices.length * plane];
        long[] labels = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            LabelledImage item = i == 0 ? first : data.get(indices[i]);
            RawImage img = item.image();
            if (img.width() != shape.width() || img.height() != shape.height() || img.channels() != shape.channels()) {
                throw new IllegalArgumentException(item.id() + " is " + img.width() + "x" + img.height()
                        + ", the batch is " + shape.width() + "x" + shape.height());
            }
            float[] chw = ImageCodec.toChw(img, FASHION_MEAN, FASHION_STD);
            System.arraycopy(chw, 0, pixels, i * plane, plane);
            labels[i] = item.label();
        }
        Tensor images = Tensor.create(pixels, indices.length, shape.channels(), shape.height(), shape.width());
        return new Batch(images, Tensor.create(labels, indices.length));
    }
}
