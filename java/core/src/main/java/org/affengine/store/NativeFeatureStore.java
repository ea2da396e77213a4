package org.affengine.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.affengine.natives.AffNative;

/**
 * The native core's reader of a feature store (native/include/aff/feature_store.h), for Java callers that hand
 * features on to native code; it reads the same files as the Java reader (java/data FeatureStore), memory-mapped,
 * after the same checks (complete store, sizes, CRC-32C).
 */
public final class NativeFeatureStore implements AutoCloseable {
    private final AffNative.FeatureStoreHandle handle;

    private NativeFeatureStore(AffNative.FeatureStoreHandle handle) {
        this.handle = handle;
    }

    /** Opens a store; a missing, incomplete or corrupted one throws UncheckedIOException with the reason. */
    public static NativeFeatureStore open(Path dir) {
        try {
            return new NativeFeatureStore(new AffNative.FeatureStoreHandle(dir.toAbsolutePath().toString()));
        } catch (RuntimeException e) {
            throw new UncheckedIOException(e.getMessage(), new IOException(e.getMessage(), e));
        }
    }

    public long size() {
        return handle.size();
    }

    private int model(String name) {
        int m = handle.model_index(name);
        if (m < 0) {
            throw new IllegalArgumentException("no model '" + name + "' in this store");
        }
        return m;
    }

    public int dim(String model) {
        return handle.model_dim(model(model));
    }

    public boolean isLocal(String model) {
        return handle.model_kind(model(model)) == 1;
    }

    public float[] global(String model, long image) {
        int m = model(model);
        float[] out = new float[handle.model_dim(m)];
        call(() -> handle.global(m, image, out));
        return out;
    }

    /** Rows [count * dim] and positions [count * 3] of a local model's descriptors of one image. */
    public float[][] local(String model, long image) {
        int m = model(model);
        long[] count = new long[1];
        call(() -> count[0] = handle.local_count(m, image));
        float[] rows = new float[(int) count[0] * handle.model_dim(m)];
        float[] positions = new float[(int) count[0] * 3];
        call(() -> handle.local(m, image, rows, positions));
        return new float[][] {rows, positions};
    }

    private static void call(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            throw e.getClass() == RuntimeException.class ? new IllegalArgumentException(e.getMessage(), e) : e;
        }
    }

    @Override
    public void close() {
        handle.close();
    }
}
