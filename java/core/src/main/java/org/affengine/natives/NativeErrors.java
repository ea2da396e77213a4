package org.affengine.natives;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.Supplier;

/**
 * JavaCPP turns every C++ exception into a plain {@link RuntimeException} carrying the native message. The core
 * throws std::invalid_argument for bad input and std::runtime_error for unreadable or corrupted files, so the call
 * site knows which Java type the user should see.
 */
public final class NativeErrors {
    private NativeErrors() {}

    /** The prefix of every CUDA failure the native core reports (kernels/cuda_util.cuh). */
    public static final String CUDA_ERROR = "CUDA error: ";

    /**
     * Runs a call whose native failures mean bad arguments, except CUDA failures (out of device memory, a lost
     * device), which are the machine's problem: IllegalStateException.
     */
    public static <T> T arguments(Supplier<T> call) {
        try {
            return call.get();
        } catch (RuntimeException e) {
            if (e.getClass() != RuntimeException.class) {
                throw e;
            }
            if (String.valueOf(e.getMessage()).startsWith(CUDA_ERROR)) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** Runs a call whose native failures are file problems (missing, truncated, corrupted, foreign). */
    public static <T> T files(Supplier<T> call) {
        try {
            return call.get();
        } catch (RuntimeException e) {
            if (e.getClass() != RuntimeException.class) {
                throw e;
            }
            throw new UncheckedIOException(e.getMessage(), new IOException(e.getMessage(), e));
        }
    }
}
