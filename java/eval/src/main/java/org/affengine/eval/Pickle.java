package org.affengine.eval;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict reader (protocols 2 to 5) and writer (protocol 2) of Python pickles holding plain data: dict, list,
 * tuple, str, bytes, int, float, bool and None, which is what published ground-truth files such as revisitop's
 * {@code gnd_*.pkl} contain. Anything else (class instances, numpy arrays, sets, protocol 0 text) is refused with
 * a {@link PickleException} naming the opcode and its offset: no code from a file is ever run.
 *
 * <p>Values come back as {@code Map<Object, Object>} (insertion ordered), {@code List<Object>} (tuples are
 * unmodifiable lists), {@code String}, {@code byte[]}, {@code Long} or {@code BigInteger}, {@code Double},
 * {@code Boolean} and {@code null}.
 */
public final class Pickle {
    private Pickle() {}

    /** A malformed or unsupported pickle. */
    public static final class PickleException extends IOException {
        PickleException(String message) {
            super(message);
        }
    }

    private static final Object MARK = new Object();


    private static final class Reader {
        private final ByteBuffer in;
        private final Deque<Object> stack = new ArrayDeque<>();
        private final Map<Long, Object> memo = new HashMap<>();
        private int opcodeAt;

        Reader(byte[] data) {
            in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }

        private PickleException error(String what) {
            return new PickleException("pickle byte " + opcodeAt + ": " + what);
        }

        private int u8() throws PickleException {
            need(1);
            return in.get() & 0xff;
        }

        private long u32() throws PickleException {
            need(4);
            return in.getInt() & 0xffffffffL;
        }

        private long u64() throws PickleException {
            need(8);
            long v = in.getLong();
            if (v < 0) {
                throw error("length " + Long.toUnsignedString(v) + " is too large");
            }
            return v;
        }

        private void need(long n) throws PickleException {
            if (n > in.remaining()) {
                throw error("truncated (needs " + n + " more bytes, " + in.remaining() + " left)");
            }
        }

        private byte[] bytes(long n) throws PickleException {
            need(n);
            byte[] b = new byte[(int) n];
            in.get(b);
            return b;
        }

        private Object pop() throws PickleException {
            if (stack.isEmpty() || stack.peek() == MARK) {
                throw error("stack underflow");
            }
            return stack.pop();
        }

        private Object top() throws PickleException {
            if (stack.isEmpty() || stack.peek() == MARK) {
                throw error("stack underflow");
            }
            return stack.peek();
        }

        /** Pops everything above the topmost MARK (and the MARK), oldest first. */
        private List<Object> popToMark() throws PickleException {
            List<Object> items = new ArrayList<>();
            while (true) {
                if (stack.isEmpty()) {
                    throw error("no MARK on the stack");
                }
                Object o = stack.pop();
                if (o == MARK) {
                    break;
                }
                items.add(o);
            }
            Collections.reverse(items);
            return items;
        }

        @SuppressWarnings("unchecked")
        private List<Object> topList() throws PickleException {
            if (top() instanceof ArrayList<?> list) {
                return (List<Object>) list;
            }
            throw error("APPEND onto a " + describe(top()));
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> topDict() throws PickleException {
            if (top() instanceof LinkedHashMap<?, ?> dict) {
                return (Map<Object, Object>) dict;
            }
            throw error("SETITEM onto a " + describe(top()));
        }

        private static String describe(Object o) {
            return o == null ? "None" : o.getClass().getSimpleName();
        }

        private Object key(Object k) throws PickleException {
            if (k instanceof List<?> || k instanceof Map<?, ?> || k instanceof byte[]) {
                throw error("unhashable dict key (" + describe(k) + ")");
            }
            return k;
        }

        Object run() throws PickleException {
            while (true) {
                opcodeAt = in.position();
                int op = u8();
                switch (op) {
                    case 0x80 -> { // PROTO
                        int version = u8();
                        if (version < 2 || version > 5) {
                            throw error("unsupported pickle protocol " + version + " (2 to 5 are read)");
                        }
                    }
                    case 0x95 -> u64(); // FRAME: a length hint only
                    case '.' -> { // STOP
                        Object result = pop();
                        if (!stack.isEmpty()) {
                            throw error("values left on the stack at STOP");
                        }
                        return result;
                    }
                    case '(' -> stack.push(MARK);
                    case '}' -> stack.push(new LinkedHashMap<>());
                    case ']' -> stack.push(new ArrayList<>());
                    case ')' -> stack.push(List.of());
                    case 't' -> stack.push(Collections.unmodifiableList(popToMark()));
                    case 0x85 -> stack.push(Collections.unmodifiableList(new ArrayList<>(List.of(pop()))));
                    case 0x86 -> {
                        Object b = pop();
                        Object a = pop();
                        stack.push(Collections.unmodifiableList(java.util.Arrays.asList(a, b)));
                    }
                    case 0x87 -> {
                        Object c = pop();
                        Object b = pop();
                        Object a = pop();
                        stack.push(Collections.unmodifiableList(java.util.Arrays.asList(a, b, c)));
                    }
                    case 'a' -> {
                        Object v = pop();
                        topList().add(v);
                    }
                    case 'e' -> {
                        List<Object> items = popToMark();
                        topList().addAll(items);
                    }
                    case 's' -> {
                        Object v = pop();
                        Object k = pop();
                        topDict().put(key(k), v);
                    }
                    case 'u' -> {
                        List<Object> items = popToMark();
                        if (items.size() % 2 != 0) {
                            throw error("SETITEMS with an odd number of values");
                        }
                        Map<Object, Object> dict = topDict();
                        for (int i = 0; i < items.size(); i += 2) {
                            dict.put(key(items.get(i)), items.get(i + 1));
                        }
                    }
                    case 'X' -> stack.push(utf8(bytes(u32())));
                    case 0x8c -> stack.push(utf8(bytes(u8())));
                    case 0x8d -> stack.push(utf8(bytes(u64())));
                    // Python 2 str: bytes that Python 3 reads back as text (latin-1, as pickle's default).
                    case 'T' -> stack.push(new String(bytes(u32()), StandardCharsets.ISO_8859_1));
                    case 'U' -> stack.push(new String(bytes(u8()), StandardCharsets.ISO_8859_1));
                    case 'B' -> stack.push(bytes(u32()));
                    case 'C' -> stack.push(bytes(u8()));
                    case 0x8e -> stack.push(bytes(u64()));
                    case 'J' -> {
                        need(4);
                        stack.push((long) in.getInt());
                    }
                    case 'K' -> stack.push((long) u8());
                    case 'M' -> {
                        need(2);
                        stack.push((long) (in.getShort() & 0xffff));
                    }
                    case 0x8a -> stack.push(longValue(bytes(u8())));
                    case 0x8b -> stack.push(longValue(bytes(u32())));
                    case 'G' -> {
                        need(8);
                        stack.push(in.order(ByteOrder.BIG_ENDIAN).getDouble());
                        in.order(ByteOrder.LITTLE_ENDIAN);
                    }
                    case 'N' -> stack.push(NullValue.NULL);
                    case 0x88 -> stack.push(Boolean.TRUE);
                    case 0x89 -> stack.push(Boolean.FALSE);
                    case 'q' -> memo.put((long) u8(), top());
                    case 'r' -> memo.put(u32(), top());
                    case 0x94 -> memo.put((long) memo.size(), top());
                    case 'h' -> stack.push(memoGet(u8()));
                    case 'j' -> stack.push(memoGet(u32()));
                    case 'c', 0x93 -> throw error("refusing a Python object reference (opcode "
                            + (op == 'c' ? "GLOBAL" : "STACK_GLOBAL")
                            + "): only plain dict/list/tuple/str/bytes/int/float/bool/None data is read");
                    case 'R', 'b', 0x81, 0x92, 'o', 'i' -> throw error("refusing object construction (opcode 0x"
                            + Integer.toHexString(op) + "): only plain data is read");
                    default -> throw error("unsupported opcode 0x" + Integer.toHexString(op)
                            + (op >= 'A' && op <= 'z' ? " ('" + (char) op + "')" : "")
                            + " (protocol 0/1 text pickles, sets and other types are not read)");
                }
            }
        }

        private Object memoGet(long index) throws PickleException {
            if (!memo.containsKey(index)) {
                throw error("memo entry " + index + " is missing");
            }
            return memo.get(index);
        }

        private static String utf8(byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }

        private static Object longValue(byte[] littleEndian) {
            if (littleEndian.length == 0) {
                return 0L;
            }
            byte[] big = new byte[littleEndian.length];
            for (int i = 0; i < big.length; i++) {
                big[i] = littleEndian[big.length - 1 - i];
            }
            BigInteger v = new BigInteger(big);
            return v.bitLength() < 64 ? (Object) v.longValue() : v;
        }
    }

    /** Stands for None on the stack (ArrayDeque holds no nulls); unwrapped by {@link #unwrap}. */
    enum NullValue {
        NULL
    }

    /** Replaces the internal None marker with null, recursively. */
    private static Object unwrap(Object o) {
        if (o == NullValue.NULL) {
            return null;
        }
        if (o instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put(unwrap(e.getKey()), unwrap(e.getValue()));
            }
            return out;
        }
        if (o instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object v : l) {
                out.add(unwrap(v));
            }
            return out;
        }
        return o;
    }

    /** Reads a pickle and returns plain Java values, None as null. */
    public static Object load(byte[] data) throws PickleException {
        return unwrap(new Reader(data).run());
    }

    // ---- writer

    /**
     * Writes plain data as a protocol 2 pickle (readable by Python 2 and 3): Map (string or number keys), List,
     * int[]/long[]/double[] (as lists), String, Integer/Long/BigInteger, Float/Double, Boolean and null.
     */
    public static byte[] write(Object value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x80);
        out.write(2);
        writeValue(out, value);
        out.write('.');
        return out.toByteArray();
    }

    private static void writeValue(ByteArrayOutputStream out, Object v) {
        switch (v) {
            case null -> out.write('N');
            case Boolean b -> out.write(b ? 0x88 : 0x89);
            case Integer i -> writeLong(out, i);
            case Long l -> writeLong(out, l);
            case BigInteger b -> writeBig(out, b);
            case Float f -> writeDouble(out, f);
            case Double d -> writeDouble(out, d);
            case String s -> {
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                out.write('X');
                writeInt32(out, b.length);
                out.writeBytes(b);
            }
            case int[] a -> writeList(out, java.util.Arrays.stream(a).boxed().toList());
            case long[] a -> writeList(out, java.util.Arrays.stream(a).boxed().toList());
            case double[] a -> writeList(out, java.util.Arrays.stream(a).boxed().toList());
            case List<?> l -> writeList(out, l);
            case Map<?, ?> m -> {
                out.write('}');
                int n = 0;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (n % 1000 == 0) {
                        if (n > 0) {
                            out.write('u');
                        }
                        out.write('(');
                    }
                    writeValue(out, e.getKey());
                    writeValue(out, e.getValue());
                    n++;
                }
                if (n > 0) {
                    out.write('u');
                }
            }
            default -> throw new IllegalArgumentException("cannot pickle " + v.getClass().getName());
        }
    }

    private static void writeList(ByteArrayOutputStream out, List<?> l) {
        out.write(']');
        for (int start = 0; start < l.size(); start += 1000) {
            out.write('(');
            for (int i = start; i < Math.min(l.size(), start + 1000); i++) {
                writeValue(out, l.get(i));
            }
            out.write('e');
        }
    }

    private static void writeLong(ByteArrayOutputStream out, long v) {
        if (v >= 0 && v < 256) {
            out.write('K');
            out.write((int) v);
        } else if (v >= 0 && v < 65536) {
            out.write('M');
            out.write((int) (v & 0xff));
            out.write((int) (v >> 8));
        } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            out.write('J');
            writeInt32(out, (int) v);
        } else {
            writeBig(out, BigInteger.valueOf(v));
        }
    }

    private static void writeBig(ByteArrayOutputStream out, BigInteger v) {
        byte[] big = v.toByteArray();
        out.write(0x8a);
        out.write(big.length);
        for (int i = big.length - 1; i >= 0; i--) {
            out.write(big[i]);
        }
    }

    private static void writeDouble(ByteArrayOutputStream out, double d) {
        out.write('G');
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putDouble(d).array());
    }

    private static void writeInt32(ByteArrayOutputStream out, int v) {
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }
}
