package org.affengine.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PickleTest {
    @TempDir
    Path dir;

    static byte[] fixture(String name) throws Exception {
        try (InputStream in = PickleTest.class.getResourceAsStream("/pickles/" + name)) {
            return in.readAllBytes();
        }
    }

    /** Files written by Python's pickle module (make_fixtures.py) in every protocol the reader accepts. */
    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4, 5})
    void readsWhatPythonWrote(int protocol) throws Exception {
        Map<?, ?> v = (Map<?, ?>) Pickle.load(fixture("value_p" + protocol + ".pkl"));
        assertEquals(List.of("all_souls_000013", "radcliffe_camera_000519", "caf\u00e9"), v.get("imlist"));
        Map<?, ?> gnd = (Map<?, ?>) ((List<?>) v.get("gnd")).get(0);
        assertEquals(List.of(136.5, 34.1, 648.5, 955.1), gnd.get("bbx"));
        assertEquals(List.of(0L, 2L), gnd.get("easy"));
        assertEquals(List.of(), gnd.get("junk"));
        assertEquals(List.of(0L, 255L, 256L, 65535L, 65536L, -1L, -70000L, 1L << 40, -(1L << 40),
                BigInteger.TWO.pow(70)), v.get("ints"));
        assertEquals(List.of(0.5, -1e300, 3.0), v.get("floats"));
        List<?> flags = (List<?>) v.get("flags");
        assertEquals(true, flags.get(0));
        assertEquals(false, flags.get(1));
        assertNull(flags.get(2));
        assertEquals(List.of(1L, "two", 3.0), v.get("tuple"));
        assertEquals(List.of(1L, 2L), v.get("pair"));
        assertEquals(List.of(7L), v.get("single"));
        assertEquals(List.of(), v.get("empty"));
        assertEquals(v.get("shared_a"), v.get("shared_b"));
        assertEquals(2500, ((List<?>) v.get("long_list")).size());
        assertEquals(2499L, ((List<?>) v.get("long_list")).get(2499));
        assertEquals("int key", v.get(7L));
        if (protocol >= 3) {
            assertArrayEquals(new byte[] {0, 1, (byte) 0xff}, (byte[]) v.get("bytes"));
        }
    }

    @Test
    void refusesWhatIsNotPlainData() throws Exception {
        assertRefused(fixture("text_p0.pkl"), "unsupported opcode");
        assertRefused(fixture("object_p2.pkl"), "Python object reference");
        assertRefused(fixture("global_p4.pkl"), "Python object reference");
        byte[] good = fixture("value_p4.pkl");
        assertRefused(java.util.Arrays.copyOf(good, good.length / 2), "truncated");
        assertRefused(new byte[] {(byte) 0x80, 9}, "protocol 9");
        assertRefused(new byte[] {(byte) 0x80, 2, 'a', '.'}, "underflow");
        assertRefused(new byte[] {(byte) 0x80, 2, ']', 'h', 5, '.'}, "memo");
        assertRefused(new byte[] {(byte) 0x80, 2, 'K', 1, 'K', 2, '.'}, "left on the stack");
        assertRefused(new byte[0], "truncated");
    }

    static void assertRefused(byte[] data, String reason) {
        Pickle.PickleException e = assertThrows(Pickle.PickleException.class, () -> Pickle.load(data));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    static Map<String, Object> sample() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("names", List.of("a", "\u00e9t\u00e9"));
        m.put("ints", new int[] {0, 255, 256, 65536, -3});
        m.put("big", BigInteger.TWO.pow(80).negate());
        m.put("long", 1L << 40);
        m.put("floats", new double[] {0.25, -2});
        m.put("none", null);
        m.put("yes", true);
        List<Object> many = new ArrayList<>();
        for (int i = 0; i < 2100; i++) {
            many.add(i);
        }
        m.put("many", many);
        return m;
    }

    @Test
    void writerRoundTripsThroughTheReader() throws Exception {
        Map<?, ?> back = (Map<?, ?>) Pickle.load(Pickle.write(sample()));
        assertEquals(List.of("a", "\u00e9t\u00e9"), back.get("names"));
        assertEquals(List.of(0L, 255L, 256L, 65536L, -3L), back.get("ints"));
        assertEquals(BigInteger.TWO.pow(80).negate(), back.get("big"));
        assertEquals(1L << 40, back.get("long"));
        assertEquals(List.of(0.25, -2.0), back.get("floats"));
        assertTrue(back.containsKey("none") && back.get("none") == null);
        assertSame(Boolean.TRUE, back.get("yes"));
        assertEquals(2100, ((List<?>) back.get("many")).size());
    }

    /** Python reads what the writer wrote (skipped where python3 is absent). */
    @Test
    void pythonReadsWhatTheWriterWrote() throws Exception {
        Path file = dir.resolve("w.pkl");
        Files.write(file, Pickle.write(sample()));
        ProcessBuilder pb = new ProcessBuilder("python3", "-c", "import pickle,sys; v = pickle.load(open(sys.argv[1],"
                + "'rb')); print(v['names'][1], v['ints'], v['big'], v['long'], v['floats'], v['none'], v['yes'], "
                + "len(v['many']))", file.toString()).redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (java.io.IOException e) {
            Assumptions.abort("python3 is not installed");
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals("\u00e9t\u00e9 [0, 255, 256, 65536, -3] -1208925819614629174706176 1099511627776 [0.25, -2.0] "
                + "None True 2100", out);
    }
}
