package org.affengine.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.affengine.index.Backend;
import org.affengine.index.ExactIndex;
import org.affengine.index.FaissIndex;
import org.affengine.index.VectorIndex;
import org.affengine.index.VectorIndexes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Show the compute backend, or describe an index file.")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--index", description = "An index file to describe.")
    Path index;

    @Override
    public Integer call() {
        Backend backend = Backend.detect();
        System.out.printf("backend: %s (CPU SIMD %s, AMX screening: %s, CUDA compiled: %s, CUDA devices: %s)%n",
                backend.preferred(), backend.cpuSimd(), backend.amxScreening() ? "on" : "off", backend.cudaCompiled(),
                backend.cudaDevices().isEmpty() ? "none" : String.join("; ", backend.cudaDevices()));
        if (index != null) {
            try (VectorIndex idx = VectorIndexes.open(index)) {
                String kind = idx instanceof ExactIndex e ? "exact, " + e.storage()
                        : "faiss '" + ((FaissIndex) idx).factory() + "'";
                System.out.printf("index: %s, %d vectors, dimension %d, %s%n", kind, idx.size(), idx.dimension(),
                        idx.metric());
            }
        }
        return 0;
    }
}
