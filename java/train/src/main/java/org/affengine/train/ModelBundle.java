package org.affengine.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.affengine.data.AtomicFiles;
import org.affengine.data.FeatureSpec;
import org.affengine.models.Safetensors;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;

/**
 * A trained AFF model on disk: a directory with
 * <pre>
 * model.safetensors   every parameter and buffer: "encoder.NAME" (the gallery encoder, e.g. the dynamic mixer)
 *                     and "query.NAME" (the query model, its whitening included), float32 (int64 counters)
 * bundle.json         format and version, the encoder's kind and shape, the gallery features it reads (their
 *                     specs, weights checksums included), the query model's architecture and input, the
 *                     training settings, and the safetensors file's size and CRC-32C
 * </pre>
 * bundle.json is written last, each file atomically, so a bundle with a bundle.json is complete. Loading rebuilds the
 * modules from bundle.json and refuses a bundle whose checksum, tensor names or shapes do not match.
 * The native mixer inference reads the same files (the tensor names are LibTorch's parameter names).
 */
public final class ModelBundle {
    public static final String FORMAT = "aff-model-bundle";
    public static final int VERSION = 1;
    static final String META = "bundle.json";
    static final String TENSORS = "model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The gallery encoder's kind ("transformer", "mlp", "single:MODEL") and shape (unused fields 0). */
    public record Encoder(String kind, int dim, int layers, int heads, int ffn, int mlpWidth) {}

    /** The query model: architecture name, output width, input description, cost per image. */
    public record Query(String architecture, int dim, String input, long macs, long parameters) {}

    public record Meta(String format, int version, Encoder encoder, List<FeatureSpec> inputs, Query query,
                       Map<String, Object> training, String tensors, long tensorsBytes, String tensorsCrc32c) {}

    /** A loaded bundle: the modules in evaluation mode, and what bundle.json says. */
    public record Loaded(GalleryEncoder encoder, QueryNet query, Meta meta) {}

    private ModelBundle() {}

    public static void save(Path dir, GalleryEncoder encoder, QueryNet query, Map<String, Object> training)
            throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        collect("encoder.", encoder, tensors);
        collect("query.", query, tensors);
        byte[] data = Safetensors.encode(tensors);
        Meta meta = new Meta(FORMAT, VERSION, describe(encoder), encoder.inputs(),
                new Query(query.modelName(), query.dim(), QueryNet.INPUT, query.macs(),
                        org.affengine.models.Layers.parameterCount(query)),
                training, TENSORS, data.length, AtomicFiles.crc32c(data));
        AtomicFiles.write(dir, TENSORS, data);
        AtomicFiles.write(dir, META, JSON.writeValueAsBytes(meta));
    }

    public static Loaded load(Path dir) throws IOException {
        Path metaFile = dir.resolve(META);
        if (!Files.isRegularFile(metaFile)) {
            throw new IOException(dir + ": not a model bundle (no " + META + ")");
        }
        Meta meta;
        try {
            meta = JSON.readValue(metaFile.toFile(), Meta.class);
        } catch (IOException e) {
            throw new IOException(metaFile + ": unreadable: " + e.getMessage(), e);
        }
        if (!FORMAT.equals(meta.format()) || meta.version() != VERSION) {
            throw new IOException(metaFile + ": format " + meta.format() + " v" + meta.version() + ", expected "
                    + FORMAT + " v" + VERSION);
        }
        if (!TENSORS.equals(meta.tensors())) {
            throw new IOException(metaFile + ": tensors must be in " + TENSORS + ", not " + meta.tensors());
        }
        byte[] data = Files.readAllBytes(dir.resolve(TENSORS));
        if (data.length != meta.tensorsBytes() || !AtomicFiles.crc32c(data).equals(meta.tensorsCrc32c())) {
            throw new IOException(dir.resolve(TENSORS) + ": " + data.length + " bytes, CRC-32C "
                    + AtomicFiles.crc32c(data) + "; " + META + " expects " + meta.tensorsBytes() + " bytes, "
                    + meta.tensorsCrc32c() + " (corrupt or from another bundle)");
        }
        GalleryEncoder encoder = build(meta.encoder(), meta.inputs());
        String expected = new QueryNet(meta.query().dim()).modelName();
        if (!expected.equals(meta.query().architecture())) {
            throw new IOException(metaFile + ": unknown query architecture " + meta.query().architecture());
        }
        QueryNet query = new QueryNet(meta.query().dim());
        Map<String, Tensor> stored = Safetensors.decode(data);
        Map<String, Tensor> targets = new LinkedHashMap<>();
        collect("encoder.", encoder, targets);
        collect("query.", query, targets);
        if (!stored.keySet().equals(targets.keySet())) {
            throw new IOException(dir + ": the tensors do not match the modules bundle.json describes (bundle: "
                    + stored.size() + " tensors, modules: " + targets.size() + ")");
        }
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> e : targets.entrySet()) {
                Tensor source = stored.get(e.getKey());
                if (!java.util.Arrays.equals(source.sizes().vec().get(), e.getValue().sizes().vec().get())
                        || source.scalar_type().intern() != e.getValue().scalar_type().intern()) {
                    throw new IOException(dir + ": tensor " + e.getKey() + " has the wrong shape or type");
                }
                e.getValue().copy_(source);
            }
        }
        encoder.train(false);
        query.train(false);
        return new Loaded(encoder, query, meta);
    }

    static Encoder describe(GalleryEncoder encoder) {
        if (encoder instanceof DynamicMixer m) {
            DynamicMixer.Config c = m.config();
            return new Encoder(m.kind(), c.dim(), c.layers(), c.heads(), c.ffn(), 0);
        }
        if (encoder instanceof MlpMixer m) {
            return new Encoder(m.kind(), m.dim(), 0, 0, 0, m.width());
        }
        return new Encoder(encoder.kind(), encoder.dim(), 0, 0, 0, 0);
    }

    static GalleryEncoder build(Encoder e, List<FeatureSpec> inputs) throws IOException {
        if (inputs == null || inputs.isEmpty()) {
            throw new IOException("the bundle names no gallery features");
        }
        try {
            if (e.kind().equals("transformer")) {
                return new DynamicMixer(inputs, new DynamicMixer.Config(e.dim(), e.layers(), e.heads(), e.ffn()));
            }
            if (e.kind().equals("mlp")) {
                return new MlpMixer(inputs, e.dim(), e.mlpWidth());
            }
            if (e.kind().equals("single:" + inputs.get(0).name()) && inputs.size() == 1) {
                return new SingleFeature(inputs.get(0));
            }
        } catch (RuntimeException ex) {
            throw new IOException("bad encoder configuration " + e + ": " + ex.getMessage(), ex);
        }
        throw new IOException("unknown encoder kind '" + e.kind() + "'");
    }

    private static void collect(String prefix, Module module, Map<String, Tensor> into) {
        for (StringTensorDict dict : new StringTensorDict[] {module.named_parameters(true),
                module.named_buffers(true)}) {
            for (long i = 0; i < dict.size(); i++) {
                into.put(prefix + dict.get(i).key().getString(), dict.get(i).value());
            }
        }
    }
}
