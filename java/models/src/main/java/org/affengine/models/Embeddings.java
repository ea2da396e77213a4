package org.affengine.models;

import java.nio.FloatBuffer;
import java.util.function.IntConsumer;
import org.affengine.data.Dataset;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/** Runs a network over a dataset in batches, in eval mode and without autograd: L2-normalised descriptors. */
public final class Embeddings {
    private Embeddings() {}

    /** Descriptors of images [from, to) row-major [to - from, dim], each of unit length. */
    public static float[] embed(GlobalNet net, Dataset data, int from, int to, int batch, IntConsumer progress) {
        net.train(false);
        int dim = net.dim();
        float[] out = new float[(to - from) * dim];
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int start = from; start < to; start += batch) {
                int n = Math.min(batch, to - start);
                int[] indices = new int[n];
                for (int i = 0; i < n; i++) {
                    indices[i] = start + i;
                }
                Tensor descriptors = net.embed(ImageBatches.load(data, indices).images()).contiguous();
                FloatBuffer values = descriptors.createBuffer();
                values.get(out, (start - from) * dim, n * dim);
                progress.accept(n);
            }
        }
        Layers.normaliseRows(out, 0, to - from, dim);
        return out;
    }
}
