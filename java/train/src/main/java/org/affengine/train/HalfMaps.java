package org.affengine.train;

import org.affengine.models.TrainingInputs;
import org.bytedeco.pytorch.Tensor;

/**
 * Feature maps of n images in memory as fp16, channels last (as {@link org.affengine.models.KerasGraph#run} gives
 * them), with the images' labels: the training input of a head on a frozen backbone. Half precision because the
 * training views' InceptionV3 maps are 3,294 x 17 x 17 x 768 values (1.5 GB as fp16); batches come back as fp32
 * [B, C, side, side].
 */
final class HalfMaps implements TrainingInputs {
    private final int[] labels;
    private final int classes;
    private final int side;
    private final int channels;
    private final int per;
    private final short[] values;
    private int filled;  // images put so far

    HalfMaps(int[] labels, int classes, int side, int channels) {
        this.labels = labels.clone();
        this.classes = classes;
        this.side = side;
        this.channels = channels;
        this.per = Math.multiplyExact(side * side, channels);
        this.values = new short[Math.multiplyExact(labels.length, per)];
    }

    /** The maps of images first .. first + count - 1, [count, side, side, channels] row-major. */
    void put(int first, int count, float[] nhwc) {
        if (first < 0 || count < 0 || first + count > labels.length || nhwc.length != count * per) {
            throw new IllegalArgumentException(nhwc.length + " values are not maps " + first + ".." + (first + count)
                    + " of " + labels.length + " x " + side + " x " + side + " x " + channels);
        }
        int at = first * per;
        for (float v : nhwc) {
            if (!(Math.abs(v) <= 65504)) {
                throw new IllegalArgumentException("map value " + v + " does not fit fp16");
            }
            values[at++] = Float.floatToFloat16(v);
        }
        filled += count;
    }

    /** Whether every image's map was put (each once). */
    boolean complete() {
        return filled == labels.length;
    }

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
        float[] batch = new float[indices.length * per];
        for (int i = 0; i < indices.length; i++) {
            int from = indices[i] * per;
            for (int k = 0; k < per; k++) {
                batch[i * per + k] = Float.float16ToFloat(values[from + k]);
            }
        }
        return Tensor.create(batch, indices.length, side, side, channels).permute(0, 3, 1, 2).contiguous();
    }

    @Override
    public Tensor labels(int[] indices) {
        return TrainingInputs.labelsAt(labels, indices);
    }
}
