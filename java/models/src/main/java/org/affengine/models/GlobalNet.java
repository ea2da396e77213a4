package org.affengine.models;

import org.bytedeco.pytorch.Tensor;

/** A network that maps a batch of images [B, C, H, W] to global descriptors [B, dim] (not yet normalised). */
public abstract class GlobalNet extends TrainableNet {
    public abstract Tensor embed(Tensor images);

    @Override
    public Tensor trainingDescriptor(Tensor images) {
        return embed(images);
    }
}
