package org.affengine.natives;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP bindings of the native core (native/include/aff/). The surface is deliberately small: opaque index handles
 * over contiguous arrays (CPU exact, FAISS, GPU exact), the feature store reader, the mixer, the local-feature
 * selection, and device discovery. Callers use {@link org.affengine.index}, {@link org.affengine.mixer} and
 * {@link org.affengine.aggregate}, not this class.
 * C++ exceptions arrive as Java exceptions carrying the native message.
 */
@Platform(include = {"aff/types.h", "aff/exact_index.h", "aff/faiss_index.h", "aff/device.h", "aff/feature_store.h",
        "aff/cuda_index.h", "aff/native_mixer.h", "aff/aggregate.h"}, link = "aff")
@Namespace("aff")
public final class AffNative {
    static {
        Loader.load();
    }

    private AffNative() {}

    public static native @Cast("bool") boolean cuda_compiled();

    public static native int cuda_device_count();

    public static native @Cast("bool") boolean cuda_device_describe(int device, @Cast("char*") byte[] buf, int len);

    public static native @Cast("const char*") String cpu_simd_level();

    public static native @Cast("bool") boolean cpu_amx_screening();

    public static native void select_local_cpu(@Const float[] scores, @Const float[] descriptors, long batch,
                                               long positions, long dim, long n, @Cast("int64_t*") long[] indices,
                                               float[] out);

    public static native @Cast("bool") boolean select_local_cuda_host(@Const float[] scores, @Const float[] descriptors,
                                                                     long batch, long positions, long dim, long n,
                                                                     @Cast("int64_t*") long[] indices, float[] out);

    /** aff::ExactIndex. */
    @Name("ExactIndex")
    public static final class ExactIndexHandle extends Pointer {
        static {
            Loader.load();
        }

        public ExactIndexHandle(int dim, int metric, int storage) {
            allocate(dim, metric, storage);
        }

        /** Reads a saved index. */
        public ExactIndexHandle(String path) {
            allocate(path);
        }

        private native void allocate(int dim, int metric, int storage);

        private native void allocate(@Cast("const char*") String path);

        public native int dim();

        public native int metric();

        public native int storage();

        public native long size();

        public native void add(long n, @Const float[] vectors, @Const @Cast("const int64_t*") long[] ids);

        public native void remove(long n, @Const @Cast("const int64_t*") long[] ids);

        public native @Cast("bool") boolean contains(long id);

        public native void search(long nq, @Const float[] queries, long k, float[] outScores,
                                  @Cast("int64_t*") long[] outIds);

        public native void reconstruct(long id, float[] out);

        public native void save(@Cast("const char*") String path);
    }

    /** aff::FaissIndex. */
    @Name("FaissIndex")
    public static final class FaissIndexHandle extends Pointer {
        static {
            Loader.load();
        }

        public FaissIndexHandle(int dim, String factory, int metric) {
            allocate(dim, factory, metric);
        }

        /** Reads a saved index. */
        public FaissIndexHandle(String path) {
            allocate(path);
        }

        private native void allocate(int dim, @Cast("const char*") String factory, int metric);

        private native void allocate(@Cast("const char*") String path);

        public native int dim();

        public native int metric();

        public native long size();

        public native @Cast("bool") boolean is_trained();

        public native @Cast("const char*") String description();

        public native void train(long n, @Const float[] vectors);

        public native void add(long n, @Const float[] vectors, @Const @Cast("const int64_t*") long[] ids);

        public native void remove(long n, @Const @Cast("const int64_t*") long[] ids);

        public native @Cast("bool") boolean contains(long id);

        public native long tombstones();

        public native long compact();

        public native void set_parameter(@Cast("const char*") String name, double value);

        public native void search(long nq, @Const float[] queries, long k, float[] outScores,
                                  @Cast("int64_t*") long[] outIds);

        public native void save(@Cast("const char*") String path);
    }

    /** aff::FeatureStoreReader. */
    @Name("FeatureStoreReader")
    public static final class FeatureStoreHandle extends Pointer {
        static {
            Loader.load();
        }

        public FeatureStoreHandle(String dir) {
            allocate(dir);
        }

        private native void allocate(@Cast("const char*") String dir);

        public native long size();

        public native int model_count();

        public native int model_index(@Cast("const char*") String name);

        public native @Cast("const char*") String model_name(int model);

        public native int model_kind(int model);

        public native int model_dim(int model);

        public native void global(int model, long image, float[] out);

        public native long local_count(int model, long image);

        public native void local(int model, long image, float[] rows, float[] positions);
    }

    /** aff::CudaExactIndex: exact search over fp16 rows in GPU memory. */
    @Name("CudaExactIndex")
    public static final class CudaIndexHandle extends Pointer {
        static {
            Loader.load();
        }

        public CudaIndexHandle(int dim, int metric, int device) {
            allocate(dim, metric, device);
        }

        private native void allocate(int dim, int metric, int device);

        public native int dim();

        public native int metric();

        public native long size();

        public native long device_bytes();

        public native void add(long n, @Const float[] vectors, @Const @Cast("const int64_t*") long[] ids);

        public native void remove(long n, @Const @Cast("const int64_t*") long[] ids);

        public native @Cast("bool") boolean contains(long id);

        public native void reconstruct(long id, float[] out);

        public native void rows_f16(long start, long n, @Cast("uint16_t*") short[] out,
                                    @Cast("int64_t*") long[] idsOut);

        public native void search(long nq, @Const float[] queries, long k, float[] outScores,
                                  @Cast("int64_t*") long[] outIds);
    }

    /** aff::NativeMixer: the dynamic mixer from a model bundle, on the CPU reference or a CUDA kernel. */
    @Name("NativeMixer")
    public static final class MixerHandle extends Pointer {
        static {
            Loader.load();
        }

        public MixerHandle(String bundleDir, int backend, int device) {
            allocate(bundleDir, backend, device);
        }

        private native void allocate(@Cast("const char*") String bundleDir, int backend, int device);

        public native int dim();

        public native int backend();

        public native int inputs();

        public native int input_dim(int i);

        public native int input_max_local(int i);

        public native long features_per_item();

        public native long padding_per_item();

        public native void forward(long batch, @Const float[] features, @Const @Cast("const uint8_t*") byte[] padding,
                                   float[] out);
    }
}
