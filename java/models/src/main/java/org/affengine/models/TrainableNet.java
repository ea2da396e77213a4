package org.affengine.models;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * A network trained by classification on one descriptor per image ({@link Trainer}): global networks use their
 * output, local ones the attention-pooled local descriptors. Its input is images, or a frozen backbone's feature maps
 * for a head trained on top of one ({@link AttentionLocal}).
 */
public abstract class TrainableNet extends Module {
    /** A stable name for specs, files and reports (Module.name() is LibTorch's own). */
    public abstract String modelName();

    /** Length of the descriptor the classifier sees (and, for global networks, of the output). */
    public abstract int dim();

    /** Multiply-accumulates to describe one image at the input size the network was built for. */
    public abstract long macs();

    /** The descriptor the classifier sees, [B, dim()], for a batch of the network's inputs. */
    public abstract Tensor trainingDescriptor(Tensor inputs);
}
