package org.affengine.models;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** A network that maps a batch of images [B, C, H, W] to global descriptors [B, dim] (not yet normalised). */
public abstract class GlobalNet extends Module {
    public abstract String modelName();

    public abstract int dim();

    public abstract Tensor embed(Tensor images);
}
