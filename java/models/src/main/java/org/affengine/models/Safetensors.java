package org.affengine.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The safetensors file format, for float32 and int64 tensors: an 8-byte little-endian header length, a JSON header
 * naming every tensor's dtype, shape and [begin, end) byte range in the data that follows, then the raw
 * little-endian data. Reading checks every range against the dtype and shape and that the ranges tile the data.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {}

    public static byte[] encode(Map<String, Tensor> tensors) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue().detach().contiguous();
            // JavaCPP returns enum values that must be interned before comparing them.
            ByteBuffer bytes;
            String dtype;
            if (t.scalar_type().intern() == ScalarType.Float) {
                dtype = "F32";
                bytes = ByteBuffer.allocate(Math.toIntExact(t.numel() * 4)).order(ByteOrder.LITTLE_ENDIAN);
                float[] v = new float[(int) t.numel()];
                ((FloatBuffer) t.createBuffer()).get(v);
                bytes.asFloatBuffer().put(v);
            } else if (t.scalar_type().intern() == ScalarType.Long) {
                dtype = "I64";
                bytes = ByteBuffer.allocate(Math.toIntExact(t.numel() * 8)).order(ByteOrder.LITTLE_ENDIAN);
                long[] v = new long[(int) t.numel()];
                ((LongBuffer) t.createBuffer()).get(v);
                bytes.asLongBuffer().put(v);
            } else {
                throw new IllegalArgumentException(e.getKey() + ": only float32 and int64 tensors are stored");
            }
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", dtype);
            ArrayNode shape = entry.putArray("shape");
            for (long s : t.sizes().vec().get()) {
                shape.add(s);
            }
            entry.putArray("data_offsets").add(data.size()).add(data.size() + bytes.capacity());
            data.write(bytes.array());
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;  // the data starts 8-byte aligned
        ByteBuffer out = ByteBuffer.allocate(8 + padded + data.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        out.put(data.toByteArray());
        return out.array();
    }

    /** The tensors of a file, in its header's order. */
    public static Map<String, Tensor> decode(byte[] file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        if (file.length < 8) {
            throw new IOException("not a safetensors file: " + file.length + " bytes");
        }
        long headerLength = in.getLong();
        if (headerLength < 2 || headerLength > MAX_HEADER || 8 + headerLength > file.length) {
            throw new IOException("not a safetensors file: header length " + headerLength);
        }
        JsonNode header = JSON.readTree(new String(file, 8, (int) headerLength, StandardCharsets.UTF_8));
        long dataStart = 8 + headerLength;
        long dataLength = file.length - dataStart;
        Map<String, Tensor> out = new LinkedHashMap<>();
        java.util.List<long[]> ranges = new java.util.ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode entry = e.getValue();
            String dtype = entry.path("dtype").asText();
            int width = switch (dtype) {
                case "F32" -> 4;
                case "I64" -> 8;
                default -> throw new IOException(e.getKey() + ": unsupported dtype '" + dtype + "'");
            };
            JsonNode shapeNode = entry.path("shape");
            long[] shape = new long[shapeNode.size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong(-1);
                if (shape[i] < 0) {
                    throw new IOException(e.getKey() + ": bad shape " + shapeNode);
                }
                count = Math.multiplyExact(count, shape[i]);
            }
            long begin = entry.path("data_offsets").path(0).asLong(-1);
            long end = entry.path("data_offsets").path(1).asLong(-1);
            if (begin < 0 || end > dataLength || end - begin != count * width) {
                throw new IOException(e.getKey() + ": data range [" + begin + ", " + end + ") does not hold "
                        + count + " " + dtype + " values within " + dataLength + " bytes");
            }
            ranges.add(new long[] {begin, end});
            ByteBuffer slice = ByteBuffer.wrap(file, (int) (dataStart + begin), (int) (end - begin))
                    .order(ByteOrder.LITTLE_ENDIAN);
            if (width == 4) {
                float[] v = new float[(int) count];
                slice.asFloatBuffer().get(v);
                out.put(e.getKey(), Tensor.create(v, shape));
            } else {
                long[] v = new long[(int) count];
                slice.asLongBuffer().get(v);
                out.put(e.getKey(), Tensor.create(v, shape));
            }
        }
        ranges.sort(java.util.Comparator.comparingLong(r -> r[0]));
        long next = 0;
        for (long[] r : ranges) {
            if (r[0] != next) {
                throw new IOException("the tensors' data ranges overlap or leave a gap at byte " + next);
            }
            next = r[1];
        }
        if (next != dataLength) {
            throw new IOException("the tensors cover " + next + " of " + dataLength + " data bytes");
        }
        return out;
    }
}
