package org.affengine.models;

import static org.bytedeco.pytorch.global.torch.avg_pool2d;
import static org.bytedeco.pytorch.global.torch.batch_norm;
import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.constant_pad_nd;
import static org.bytedeco.pytorch.global.torch.conv2d;
import static org.bytedeco.pytorch.global.torch.linear;
import static org.bytedeco.pytorch.global.torch.max_pool2d;
import static org.bytedeco.pytorch.global.torch.ones;
import static org.bytedeco.pytorch.global.torch.softmax;
import static org.bytedeco.pytorch.global.torch.zeros_like;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.affengine.data.AtomicFiles;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A Keras functional model (as TF.js layers models store it: model.json with the Keras topology and a weights
 * manifest) run on LibTorch. The layer graph is executed as written, channels-last tensors becoming NCHW and the
 * weights transposed to LibTorch's layouts (Conv2D HWIO to OIHW, DepthwiseConv2D [kh, kw, C, m] to [C*m, 1, kh, kw],
 * Dense [in, out] to [out, in]); TensorFlow's "same" padding (asymmetric when the total is odd, excluded from
 * average-pool counts) is reproduced exactly. Layers: InputLayer, Conv2D, DepthwiseConv2D, BatchNormalization,
 * ReLU, Activation, ZeroPadding2D, Add, Concatenate, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten,
 * Dense, Dropout; anything else is refused naming the layer.
 *
 * <p>Weights may be float32 or TF.js-quantised uint8/uint16 (value = q * scale + min, computed in double). {@link #save}
 * writes the project's own form (model.json with the topology + weights.safetensors, float32, checksummed), which
 * {@link #load} reads without TF.js or npm.
 */
public final class KerasGraph {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FORMAT = "aff-keras-graph";
    private static final Set<String> SUPPORTED = Set.of("InputLayer", "Conv2D", "DepthwiseConv2D",
            "BatchNormalization", "ReLU", "Activation", "ZeroPadding2D", "Add", "Concatenate", "MaxPooling2D",
            "AveragePooling2D", "GlobalAveragePooling2D", "Flatten", "Dense", "Dropout");

    /** One layer: its Keras class and config, the layers it reads, and its weights in LibTorch layout. */
    private record Layer(String name, String kind, JsonNode config, List<String> inputs, Map<String, Tensor> weights) {}

    private final JsonNode topology;
    private final List<Layer> layers = new ArrayList<>();
    private final Map<String, Layer> byName = new HashMap<>();
    private final Map<String, Tensor> tfWeights;  // as stored (TF layouts), for save()
    private final String inputName;
    private final String outputName;
    private final long[] inputShape;  // [H, W, C]
    private Map<String, long[]> shapes;  // every layer's output shape for one image (NCHW), made on first use

    private KerasGraph(JsonNode topology, Map<String, Tensor> tfWeights) {
        this.topology = topology;
        this.tfWeights = tfWeights;
        tfWeights.values().forEach(KerasGraph::keep);
        JsonNode config = topology.path("model_config").path("config");
        if (!topology.path("model_config").path("class_name").asText().matches("Model|Functional")) {
            throw new IllegalArgumentException("not a Keras functional model: "
                    + topology.path("model_config").path("class_name"));
        }
        for (JsonNode l : config.path("layers")) {
            String name = l.path("name").asText(l.path("config").path("name").asText());
            String kind = l.path("class_name").asText();
            if (!SUPPORTED.contains(kind)) {
                throw new IllegalArgumentException("layer " + name + ": Keras layer type " + kind + " is not supported");
            }
            JsonNode nodes = l.path("inbound_nodes");
            if (nodes.size() > 1) {
                throw new IllegalArgumentException("layer " + name + " is shared (" + nodes.size() + " calls)");
            }
            List<String> inputs = new ArrayList<>();
            if (nodes.size() == 1) {
                for (JsonNode in : nodes.get(0)) {
                    if (!in.isArray() || in.size() < 1) {
                        throw new IllegalArgumentException("layer " + name + ": inbound nodes in an unknown form");
                    }
                    String from = in.get(0).asText();
                    if (!byName.containsKey(from)) {
                        throw new IllegalArgumentException("layer " + name + " reads " + from + ", which comes later");
                    }
                    inputs.add(from);
                }
            }
            refuseUnsupportedConfig(name, kind, l.path("config"));
            Map<String, Tensor> weights = torchWeights(name, kind, l.path("config"));
            weights.values().forEach(KerasGraph::keep);
            Layer layer = new Layer(name, kind, l.path("config"), inputs, weights);
            layers.add(layer);
            byName.put(name, layer);
        }
        if (config.path("input_layers").size() != 1 || config.path("output_layers").size() != 1) {
            throw new IllegalArgumentException("one input and one output are supported");
        }
        inputName = config.path("input_layers").get(0).get(0).asText();
        outputName = config.path("output_layers").get(0).get(0).asText();
        Layer input = byName.get(inputName);
        JsonNode shape = input == null ? null : input.config().path("batch_input_shape");
        if (shape == null || shape.size() != 4 || !shape.get(1).isNumber() || !shape.get(2).isNumber()
                || !shape.get(3).isNumber()) {
            throw new IllegalArgumentException("the input layer " + inputName + " needs a fixed [batch, H, W, C] "
                    + "batch_input_shape");
        }
        inputShape = new long[] {shape.get(1).asLong(), shape.get(2).asLong(), shape.get(3).asLong()};
        if (!byName.containsKey(outputName)) {
            throw new IllegalArgumentException("the output layer " + outputName + " is not in the graph");
        }
    }

    /** A TF.js layers model folder: model.json (modelTopology + weightsManifest) and the weight files it names. */
    public static KerasGraph fromTfjs(Path dir) throws IOException {
        JsonNode model = JSON.readTree(Files.readAllBytes(dir.resolve("model.json")));
        JsonNode topology = model.path("modelTopology");
        if (topology.isMissingNode()) {
            throw new IOException(dir + "/model.json has no modelTopology: not a TF.js layers model");
        }
        Map<String, Tensor> weights = new LinkedHashMap<>();
        for (JsonNode group : model.path("weightsManifest")) {
            // A group's files are one byte stream: weights cross file boundaries.
            java.io.ByteArrayOutputStream stream = new java.io.ByteArrayOutputStream();
            for (JsonNode p : group.path("paths")) {
                Path file = dir.resolve(p.asText()).normalize();
                if (!file.startsWith(dir.normalize())) {
                    throw new IOException("weight path " + p.asText() + " leaves " + dir);
                }
                stream.write(Files.readAllBytes(file));
            }
            ByteBuffer data = ByteBuffer.wrap(stream.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
            for (JsonNode spec : group.path("weights")) {
                weights.put(spec.path("name").asText(), readWeight(spec, data));
            }
            if (data.hasRemaining()) {
                throw new IOException(dir + ": " + data.remaining() + " weight bytes left over after the manifest");
            }
        }
        return new KerasGraph(topology, weights);
    }

    private static Tensor readWeight(JsonNode spec, ByteBuffer data) throws IOException {
        String name = spec.path("name").asText();
        JsonNode shapeNode = spec.path("shape");
        long[] shape = new long[shapeNode.size()];
        int count = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
            count = Math.multiplyExact(count, Math.toIntExact(shape[i]));
        }
        if (!spec.path("dtype").asText("float32").equals("float32")) {
            throw new IOException(name + ": weights of dtype " + spec.path("dtype").asText() + " are not supported");
        }
        JsonNode q = spec.path("quantization");
        float[] v = new float[count];
        String stored = q.isMissingNode() ? "float32" : q.path("dtype").asText();
        int width = switch (stored) {
            case "float32" -> 4;
            case "uint16" -> 2;
            case "uint8" -> 1;
            default -> throw new IOException(name + ": quantisation " + stored + " is not supported");
        };
        if (data.remaining() < (long) count * width) {
            throw new IOException(name + ": the weight data ends early (" + data.remaining() + " bytes left, "
                    + (long) count * width + " needed)");
        }
        double min = q.path("min").asDouble(), scale = q.path("scale").asDouble();
        for (int i = 0; i < count; i++) {
            v[i] = switch (width) {
                case 4 -> data.getFloat();
                case 2 -> (float) ((data.getShort() & 0xffff) * scale + min);
                default -> (float) ((data.get() & 0xff) * scale + min);
            };
        }
        return Tensor.create(v, shape);
    }

    /** Reads what {@link #save} wrote; refuses a wrong format, checksum or weight set. */
    public static KerasGraph load(Path dir) throws IOException {
        JsonNode meta = JSON.readTree(Files.readAllBytes(dir.resolve("model.json")));
        if (!FORMAT.equals(meta.path("format").asText()) || meta.path("version").asInt() != 1) {
            throw new IOException(dir + "/model.json is not an " + FORMAT + " version 1 file");
        }
        byte[] tensors = Files.readAllBytes(dir.resolve("weights.safetensors"));
        String crc = AtomicFiles.crc32c(tensors);
        if (!crc.equals(meta.path("weightsCrc32c").asText())) {
            throw new IOException(dir + "/weights.safetensors: CRC-32C " + crc + ", model.json says "
                    + meta.path("weightsCrc32c").asText());
        }
        try {
            return new KerasGraph(meta.path("modelTopology"), Safetensors.decode(tensors));
        } catch (IllegalArgumentException e) {
            throw new IOException(dir + ": " + e.getMessage(), e);
        }
    }

    /** Writes model.json (topology, weights checksum) and weights.safetensors (float32, TF layouts), atomically. */
    public void save(Path dir, String source) throws IOException {
        byte[] tensors = Safetensors.encode(tfWeights);
        ObjectNode meta = JSON.createObjectNode();
        meta.put("format", FORMAT).put("version", 1).put("source", source)
                .put("weightsCrc32c", AtomicFiles.crc32c(tensors)).put("weightsBytes", tensors.length);
        meta.set("modelTopology", topology);
        Files.createDirectories(dir);
        AtomicFiles.write(dir, "weights.safetensors", tensors);
        AtomicFiles.write(dir, "model.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta));
    }

    /** The input's [height, width, channels]. */
    public long[] inputShape() {
        return inputShape.clone();
    }

    public String outputLayer() {
        return outputName;
    }

    public List<String> layerNames() {
        return layers.stream().map(Layer::name).toList();
    }

    /**
     * Multiply-accumulates per image to compute a layer's output (its convolutions, depthwise convolutions and dense
     * layers, and those of every layer it depends on); other layers are counted as free.
     */
    public synchronized long macs(String layer) {
        Map<String, long[]> shape = shapes(layer);
        long total = 0;
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(List.of(layer));
        Set<String> seen = new java.util.HashSet<>();
        while (!todo.isEmpty()) {
            Layer l = byName.get(todo.pop());
            if (!seen.add(l.name())) {
                continue;
            }
            todo.addAll(l.inputs());
            total += layerMacs(l, shape);
        }
        return total;
    }

    /** One layer's multiply-accumulates per image, from the output shapes (NCHW) of it and its inputs. */
    private static long layerMacs(Layer l, Map<String, long[]> shape) {
        long[] out = shape.get(l.name());
        return switch (l.kind()) {
            case "Conv2D" -> {
                long[] k = pair(l.config().path("kernel_size"));
                yield out[1] * out[2] * out[3] * k[0] * k[1] * shape.get(l.inputs().get(0))[1];
            }
            case "DepthwiseConv2D" -> {
                long[] k = pair(l.config().path("kernel_size"));
                yield out[1] * out[2] * out[3] * k[0] * k[1];
            }
            case "Dense" -> out[1] * shape.get(l.inputs().get(0))[1];
            default -> 0;
        };
    }

    /** A layer's output shape for one image in Keras layout: [1, H, W, C] for feature maps, [1, units] otherwise. */
    public synchronized long[] outputShape(String layer) {
        long[] s = shapes(layer).get(layer);
        return s.length == 4 ? new long[] {s[0], s[2], s[3], s[1]} : s.clone();
    }

    /** Every layer's output shape for one image (NCHW), from one forward pass made on the first call. */
    private Map<String, long[]> shapes(String layer) {
        if (!byName.containsKey(layer)) {
            throw new IllegalArgumentException("no layer " + layer);
        }
        if (shapes == null) {
            shapes = new HashMap<>();
            float[] image = new float[(int) (inputShape[0] * inputShape[1] * inputShape[2])];
            Arrays.fill(image, 0.5f);
            try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
                Tensor x = Tensor.create(image, 1, inputShape[0], inputShape[1], inputShape[2]).permute(0, 3, 1, 2)
                        .contiguous();
                forward(x, Set.copyOf(layerNames())).forEach((name, t) -> shapes.put(name, t.sizes().vec().get()));
            }
        }
        return shapes;
    }

    /** Number of weight values (the model's parameters and batch-norm statistics). */
    public long weightCount() {
        return tfWeights.values().stream().mapToLong(Tensor::numel).sum();
    }

    /**
     * Runs the model on NHWC images [n, H, W, C] (as Keras takes them) and returns the named layers' outputs in Keras
     * layout (NHWC feature maps, [n, units] vectors) as float arrays, with their shapes.
     */
    public Map<String, Output> run(float[] nhwc, int n, List<String> outputs) {
        for (String o : outputs) {
            if (!byName.containsKey(o)) {
                throw new IllegalArgumentException("no layer " + o);
            }
        }
        long pixels = inputShape[0] * inputShape[1] * inputShape[2];
        if (n <= 0 || nhwc.length != n * pixels) {
            throw new IllegalArgumentException(nhwc.length + " floats are not " + n + " images of "
                    + Arrays.toString(inputShape));
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor x = Tensor.create(nhwc, n, inputShape[0], inputShape[1], inputShape[2]).permute(0, 3, 1, 2)
                    .contiguous();
            Map<String, Tensor> values = forward(x, Set.copyOf(outputs));
            Map<String, Output> out = new LinkedHashMap<>();
            for (String o : outputs) {
                Tensor t = values.get(o);
                Tensor keras = (t.dim() == 4 ? t.permute(0, 2, 3, 1) : t).contiguous();
                float[] v = new float[Math.toIntExact(keras.numel())];
                ((FloatBuffer) keras.createBuffer()).get(v);
                out.put(o, new Output(keras.sizes().vec().get(), v));
            }
            return out;
        }
    }

    /** A layer's output in Keras layout. */
    public record Output(long[] shape, float[] values) {
        /**
         * GeM pooling of an NHWC feature map, per image and channel (mean of max(x, 1e-6)^p over the positions, to
         * the 1/p): [n * C], row-major.
         */
        public float[] gem(double p) {
            if (shape.length != 4) {
                throw new IllegalStateException("GeM needs an NHWC feature map, not " + Arrays.toString(shape));
            }
            int n = (int) shape[0], positions = (int) (shape[1] * shape[2]), c = (int) shape[3];
            float[] out = new float[n * c];
            double[] sum = new double[c];
            for (int i = 0; i < n; i++) {
                Arrays.fill(sum, 0);
                for (int pos = 0; pos < positions; pos++) {
                    int base = (i * positions + pos) * c;
                    for (int ch = 0; ch < c; ch++) {
                        sum[ch] += Math.pow(Math.max(values[base + ch], 1e-6), p);
                    }
                }
                for (int ch = 0; ch < c; ch++) {
                    out[i * c + ch] = (float) Math.pow(sum[ch] / positions, 1 / p);
                }
            }
            return out;
        }
    }

    /**
     * Runs the graph on an NCHW batch up to the last requested layer; returns the requested layers' outputs (NCHW
     * or [n, units]). An intermediate tensor is freed as soon as no later layer reads it (peak memory: the live
     * branches, not every layer's output).
     */
    public Map<String, Tensor> forward(Tensor nchw, Set<String> wanted) {
        Map<String, Tensor> live = new HashMap<>();
        live.put(inputName, nchw.alias());  // its own handle, so freeing it leaves the caller's valid
        List<Layer> chain = layers.stream().filter(l -> !l.name().equals(inputName)).toList();
        return execute(chain, live, Layer::weights, wanted);
    }

    /**
     * Runs chain (layers in graph order, each reading layers in live or earlier in chain) up to the last wanted
     * layer, with each layer's weights from weights; frees what no later layer in chain reads.
     */
    private static Map<String, Tensor> execute(List<Layer> chain, Map<String, Tensor> live,
                                               java.util.function.Function<Layer, Map<String, Tensor>> weights,
                                               Set<String> wanted) {
        Map<String, Integer> readers = new HashMap<>();
        int last = -1;
        for (int i = 0; i < chain.size(); i++) {
            for (String in : chain.get(i).inputs()) {
                readers.merge(in, 1, Integer::sum);
            }
            if (wanted.contains(chain.get(i).name())) {
                last = i;
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        live.forEach((name, t) -> {
            if (wanted.contains(name)) {
                out.put(name, t);
            }
        });
        for (int i = 0; i <= last; i++) {
            Layer l = chain.get(i);
            List<Tensor> in = new ArrayList<>();
            for (String name : l.inputs()) {
                in.add(live.get(name));
            }
            Tensor y = apply(l, weights.apply(l), in);
            if (in.contains(y)) {
                y = y.alias();  // a pass-through layer: its own handle, so freeing either leaves the other valid
            }
            live.put(l.name(), y);
            if (wanted.contains(l.name())) {
                out.put(l.name(), y);
            }
            for (String name : l.inputs()) {
                if (readers.merge(name, -1, Integer::sum) == 0 && !wanted.contains(name)) {
                    live.remove(name).close();  // no later layer reads it: free its memory now
                }
            }
        }
        return out;
    }

    /**
     * The layers after {@code from} that {@code to} depends on, as a trainable module initialised with this graph's
     * weights (the graph itself stays as imported). It runs on from's output and returns to's. Each convolution,
     * dense and batch-norm scale or shift weight w0 becomes w0 + step * delta with delta a parameter starting at
     * zero: Adam moves delta by about the learning rate per step, so step scales how fast the pretrained weights
     * move relative to new layers, and weight decay pulls them back toward the pretrained values rather than toward
     * zero. Batch-norm statistics stay as imported (normalisation as at inference, the usual choice when
     * fine-tuning with small batches). An empty segment (from equals to) passes its input through. Refused when a
     * layer in it reads a layer before from.
     */
    public synchronized Segment segment(String from, String to, double step) {
        Layer first = byName.get(from);
        Layer last = byName.get(to);
        if (first == null || last == null) {
            throw new IllegalArgumentException("no layer " + (first == null ? from : to));
        }
        if (!(step > 0)) {
            throw new IllegalArgumentException("step must be > 0, not " + step);
        }
        int cut = layers.indexOf(first);
        if (layers.indexOf(last) < cut) {
            throw new IllegalArgumentException(to + " comes before " + from);
        }
        Set<String> needed = new java.util.HashSet<>();
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(List.of(to));
        while (!todo.isEmpty()) {
            String name = todo.pop();
            if (name.equals(from) || !needed.add(name)) {
                continue;
            }
            Layer l = byName.get(name);
            if (layers.indexOf(l) <= cut) {
                throw new IllegalArgumentException("layer " + to + " depends on " + name + ", which the cut at "
                        + from + " does not give");
            }
            todo.addAll(l.inputs());
        }
        List<Layer> chain = layers.stream().filter(l -> needed.contains(l.name())).toList();
        return new Segment(from, to, chain, shapes(from).get(from), step);
    }

    /** A trainable run of layers of the graph; see {@link #segment}. */
    public static final class Segment extends org.bytedeco.pytorch.Module {
        private static final Set<String> TRAINED = Set.of("kernel", "bias", "gamma", "beta");
        private final String from;
        private final String to;
        private final List<Layer> chain;
        private final Map<String, Map<String, Tensor>> pretrained = new HashMap<>();
        private final Map<String, Map<String, Tensor>> deltas = new HashMap<>();
        private final Scalar step;
        private final long[] fromShape;

        private Segment(String from, String to, List<Layer> chain, long[] fromShape, double step) {
            this.from = from;
            this.to = to;
            this.chain = chain;
            this.fromShape = fromShape;
            this.step = new Scalar(step);
            keep(this.step);
            for (Layer l : chain) {
                Map<String, Tensor> base = new LinkedHashMap<>();
                Map<String, Tensor> delta = new LinkedHashMap<>();
                // Our own handles share the registered tensors; the references register_* return point into the
                // module's table and dangle once it grows.
                l.weights().forEach((name, w) -> {
                    String key = l.name() + "/" + name;
                    Tensor held = w.detach().clone();
                    keep(held);
                    register_buffer(key, held);
                    base.put(name, held);
                    if (TRAINED.contains(name)) {
                        Tensor d = zeros_like(w);
                        keep(d);
                        register_parameter(key + "/delta", d, true);
                        delta.put(name, d);
                    }
                });
                pretrained.put(l.name(), base);
                deltas.put(l.name(), delta);
            }
        }

        /** A layer's weights as they stand: pretrained + step * delta. */
        private Map<String, Tensor> weights(Layer l) {
            Map<String, Tensor> w = new LinkedHashMap<>(pretrained.get(l.name()));
            deltas.get(l.name()).forEach((name, d) -> w.put(name, w.get(name).add(d, step)));
            return w;
        }

        /** to's output for from's output [B, C, H, W]. */
        public Tensor forward(Tensor x) {
            if (chain.isEmpty()) {
                return x;
            }
            Map<String, Tensor> live = new HashMap<>();
            live.put(from, x.alias());
            return execute(chain, live, this::weights, Set.of(to)).get(to);
        }

        /** Number of layers in it. */
        public int layerCount() {
            return chain.size();
        }

        /**
         * Multiply-accumulates per image of its convolutions and dense layers on an input of channels x height x
         * width (from a dry run on zeros).
         */
        public long macs(long height, long width) {
            long[] in = {1, fromShape[1], height, width};
            Map<String, long[]> shape = new HashMap<>();
            shape.put(from, in);
            try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
                Map<String, Tensor> live = new HashMap<>();
                live.put(from, org.bytedeco.pytorch.global.torch.zeros(in, new TensorOptions(ScalarType.Float)));
                Set<String> all = new java.util.HashSet<>();
                chain.forEach(l -> all.add(l.name()));
                execute(chain, live, this::weights, all).forEach((name, t) ->
                        shape.put(name, t.sizes().vec().get()));
            }
            long total = 0;
            for (Layer l : chain) {
                total += layerMacs(l, shape);
            }
            return total;
        }
    }

    private static Tensor apply(Layer l, Map<String, Tensor> weights, List<Tensor> in) {
        JsonNode c = l.config();
        Tensor x = in.isEmpty() ? null : in.get(0);
        return switch (l.kind()) {
            case "Conv2D", "DepthwiseConv2D" -> {
                long[] k = pair(c.path("kernel_size")), s = pair(c.path("strides")), d = pair(c.path("dilation_rate"));
                Tensor padded = samePadding(x, c, k, s, d, 0.0);
                Tensor w = weights.get("kernel");
                long groups = l.kind().equals("Conv2D") ? 1 : x.size(1);
                TensorOptional bias = weights.containsKey("bias") ? new TensorOptional(weights.get("bias"))
                        : new TensorOptional();
                yield activation(conv2d(padded, w, bias, s, new long[] {0, 0}, d, groups),
                        c.path("activation").asText("linear"), l);
            }
            case "BatchNormalization" -> {
                Map<String, Tensor> w = weights;
                TensorOptional gamma = w.containsKey("gamma") ? new TensorOptional(w.get("gamma")) : new TensorOptional();
                TensorOptional beta = w.containsKey("beta") ? new TensorOptional(w.get("beta")) : new TensorOptional();
                yield batch_norm(x, gamma, beta, new TensorOptional(w.get("moving_mean")),
                        new TensorOptional(w.get("moving_variance")), false, 0.0, c.path("epsilon").asDouble(1e-3),
                        false);
            }
            case "ReLU" -> {
                if (c.path("negative_slope").asDouble(0) != 0 || c.path("threshold").asDouble(0) != 0) {
                    throw new IllegalArgumentException("layer " + l.name() + ": only plain ReLU(max_value) is supported");
                }
                JsonNode max = c.path("max_value");
                yield max.isNumber() ? x.clamp(new ScalarOptional(new Scalar(0.0)),
                        new ScalarOptional(new Scalar(max.asDouble()))) : x.relu();
            }
            case "Activation" -> activation(x, c.path("activation").asText(), l);
            case "ZeroPadding2D" -> {
                JsonNode p = c.path("padding");  // [[top, bottom], [left, right]]
                yield constant_pad_nd(x, new long[] {p.get(1).get(0).asLong(), p.get(1).get(1).asLong(),
                        p.get(0).get(0).asLong(), p.get(0).get(1).asLong()}, new Scalar(0.0));
            }
            case "Add" -> {
                Tensor sum = in.get(0);
                for (int i = 1; i < in.size(); i++) {
                    sum = sum.add(in.get(i));
                }
                yield sum;
            }
            case "Concatenate" -> {
                int axis = c.path("axis").asInt(-1);
                if (axis != -1 && axis != 3) {
                    throw new IllegalArgumentException("layer " + l.name() + ": only channel concatenation is supported");
                }
                TensorVector parts = new TensorVector();
                for (Tensor t : in) {
                    parts.push_back(t);
                }
                yield cat(parts, 1);
            }
            case "MaxPooling2D" -> {
                long[] k = pair(c.path("pool_size")), s = strides(c, k);
                Tensor padded = samePadding(x, c, k, s, new long[] {1, 1}, Double.NEGATIVE_INFINITY);
                yield max_pool2d(padded, k, s, new long[] {0, 0}, new long[] {1, 1}, false);
            }
            case "AveragePooling2D" -> {
                long[] k = pair(c.path("pool_size"));
                yield averagePool(x, c, k, strides(c, k));
            }
            case "GlobalAveragePooling2D" -> x.mean(new long[] {2, 3}, false, new ScalarTypeOptional());
            case "Flatten" -> (x.dim() == 4 ? x.permute(0, 2, 3, 1) : x).reshape(x.size(0), -1);  // Keras: NHWC order
            case "Dense" -> {
                TensorOptional bias = weights.containsKey("bias") ? new TensorOptional(weights.get("bias"))
                        : new TensorOptional();
                yield activation(linear(x, weights.get("kernel"), bias), c.path("activation").asText("linear"), l);
            }
            case "Dropout" -> x;
            default -> throw new IllegalArgumentException("layer " + l.name() + ": " + l.kind() + " is not supported");
        };
    }

    private static Tensor activation(Tensor x, String name, Layer l) {
        return switch (name) {
            case "linear" -> x;
            case "relu" -> x.relu();
            case "sigmoid" -> x.sigmoid();
            case "tanh" -> x.tanh();
            case "softmax" -> softmax(x, x.dim() == 4 ? 1 : -1, new ScalarTypeOptional());
            default -> throw new IllegalArgumentException("layer " + l.name() + ": activation " + name
                    + " is not supported");
        };
    }

    /** Settings this importer does not implement are refused rather than run wrongly. */
    private static void refuseUnsupportedConfig(String name, String kind, JsonNode c) {
        String problem = null;
        if (c.path("data_format").asText("channels_last").equals("channels_first")) {
            problem = "channels_first data";
        } else if (kind.equals("Conv2D") && c.path("groups").asInt(1) != 1) {
            problem = "grouped convolution";
        } else if (kind.equals("BatchNormalization") && !(c.path("axis").asInt(-1) == -1 || c.path("axis").asInt() == 3)) {
            problem = "batch normalisation over axis " + c.path("axis");
        } else if (kind.equals("GlobalAveragePooling2D") && c.path("keepdims").asBoolean(false)) {
            problem = "keepdims";
        } else if (!c.path("padding").isMissingNode() && !kind.equals("ZeroPadding2D")
                && !c.path("padding").asText().matches("same|valid")) {
            problem = "padding " + c.path("padding");
        }
        if (problem != null) {
            throw new IllegalArgumentException("layer " + name + " (" + kind + "): " + problem + " is not supported");
        }
    }

    /** TensorFlow's padding for a window: none for "valid"; for "same" the total split with the extra at the end. */
    private static Tensor samePadding(Tensor x, JsonNode c, long[] k, long[] s, long[] d, double value) {
        if (!c.path("padding").asText("valid").equals("same")) {
            return x;
        }
        long[] pads = samePads(x, k, s, d);
        return pads[0] + pads[1] + pads[2] + pads[3] == 0 ? x : constant_pad_nd(x, pads, new Scalar(value));
    }

    /** [left, right, top, bottom] of TensorFlow's "same" padding for an NCHW input. */
    private static long[] samePads(Tensor x, long[] k, long[] s, long[] d) {
        long[] out = new long[4];
        for (int axis = 0; axis < 2; axis++) {
            long size = x.size(2 + axis);
            long extent = (k[axis] - 1) * d[axis] + 1;
            long total = Math.max((ceilDiv(size, s[axis]) - 1) * s[axis] + extent - size, 0);
            int at = axis == 0 ? 2 : 0;  // H pads go to [2, 3], W pads to [0, 1]
            out[at] = total / 2;
            out[at + 1] = total - total / 2;
        }
        return out;
    }

    /** Average pooling; with "same" padding the padded positions do not count (TensorFlow's rule). */
    private static Tensor averagePool(Tensor x, JsonNode c, long[] k, long[] s) {
        if (!c.path("padding").asText("valid").equals("same")) {
            return avg_pool2d(x, k, s, new long[] {0, 0}, false, true, new LongOptional());
        }
        long[] pads = samePads(x, k, s, new long[] {1, 1});
        Scalar zero = new Scalar(0.0);
        Tensor sums = avg_pool2d(constant_pad_nd(x, pads, zero), k, s, new long[] {0, 0}, false, true,
                new LongOptional());
        Tensor ones = ones(new long[] {1, 1, x.size(2), x.size(3)}, new TensorOptions(ScalarType.Float));
        Tensor counts = avg_pool2d(constant_pad_nd(ones, pads, zero), k, s, new long[] {0, 0}, false, true,
                new LongOptional());
        return sums.div(counts);  // both are means over k x k: their ratio is the mean over real positions
    }

    /** The layer's weights from the stored ones (TF layouts), as LibTorch wants them. */
    private Map<String, Tensor> torchWeights(String layer, String kind, JsonNode config) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        List<String> expected = switch (kind) {
            case "Conv2D" -> config.path("use_bias").asBoolean(true) ? List.of("kernel", "bias") : List.of("kernel");
            case "DepthwiseConv2D" -> config.path("use_bias").asBoolean(true) ? List.of("depthwise_kernel", "bias")
                    : List.of("depthwise_kernel");
            case "Dense" -> config.path("use_bias").asBoolean(true) ? List.of("kernel", "bias") : List.of("kernel");
            case "BatchNormalization" -> {
                List<String> names = new ArrayList<>();
                if (config.path("scale").asBoolean(true)) {
                    names.add("gamma");
                }
                if (config.path("center").asBoolean(true)) {
                    names.add("beta");
                }
                names.add("moving_mean");
                names.add("moving_variance");
                yield names;
            }
            default -> List.of();
        };
        for (String p : expected) {
            Tensor t = tfWeights.get(layer + "/" + p);
            if (t == null) {
                throw new IllegalArgumentException("layer " + layer + ": weight " + layer + "/" + p + " is missing");
            }
            w.put(p.equals("depthwise_kernel") ? "kernel" : p, switch (kind + "/" + p) {
                case "Conv2D/kernel" -> t.permute(3, 2, 0, 1).contiguous();  // HWIO -> OIHW
                case "DepthwiseConv2D/depthwise_kernel" ->  // [kh, kw, C, m] -> [C*m, 1, kh, kw]
                        t.permute(2, 3, 0, 1).reshape(t.size(2) * t.size(3), 1, t.size(0), t.size(1)).contiguous();
                case "Dense/kernel" -> t.t().contiguous();  // [in, out] -> [out, in]
                default -> t;
            });
        }
        return w;
    }

    /** Weights live as long as the graph, also when it was built inside a caller's PointerScope. */
    private static void keep(org.bytedeco.javacpp.Pointer t) {
        t.retainReference();
    }

    /** A pooling layer's strides; Keras defaults them to the pool size. */
    private static long[] strides(JsonNode c, long[] pool) {
        JsonNode s = c.path("strides");
        return s.isMissingNode() || s.isNull() ? pool.clone() : pair(s);
    }

    private static long[] pair(JsonNode node) {
        return node.isMissingNode() || node.isNull() ? new long[] {1, 1}
                : new long[] {node.get(0).asLong(), node.get(node.size() > 1 ? 1 : 0).asLong()};
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
