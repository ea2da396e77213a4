package org.affengine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.affengine.data.RawImage;
import org.affengine.serve.Retriever;
import org.affengine.train.UntrainedModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `aff serve` as a real server process: what it acknowledged survives kill -9, it shuts down gracefully on SIGTERM,
 * and its web page works in headless Chromium (a screenshot is kept in target/test-artifacts).
 */
class ServeCommandTest {
    @TempDir
    Path dir;

    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final ObjectMapper JSON = new ObjectMapper();
    final Random random = new Random();

    /** A running server process and its port. */
    record Server(Process process, int port) {
        HttpResponse<byte[]> send(String method, String path, byte[] body, String key) throws Exception {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(body));
            if (body != null) {
                b.header("Content-Type", "image/png");
            }
            if (key != null) {
                b.header("X-API-Key", key);
            }
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        }

        JsonNode json(String path) throws Exception {
            return JSON.readTree(send("GET", path, null, null).body());
        }
    }

    @BeforeEach
    void model() throws Exception {
        UntrainedModel.write(dir, 16, 3);
    }

    Server start(String... extra) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString(), "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), AffCli.class.getName(), "serve", "--port", "0",
                "--bundle", dir.resolve("bundle").toString(), "--weights", dir.resolve("models").toString(),
                "--data", dir.resolve("data").toString(), "--snapshot-seconds", "0"));
        command.addAll(List.of(extra));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Pattern url = Pattern.compile("web page at http://127\\.0\\.0\\.1:(\\d+)/");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String line;
        while ((line = out.readLine()) != null && System.nanoTime() < deadline) {
            Matcher m = url.matcher(line);
            if (m.find()) {
                Thread drain = new Thread(() -> out.lines().forEach(l -> { }));  // access log: keep the pipe open
                drain.setDaemon(true);
                drain.start();
                return new Server(p, Integer.parseInt(m.group(1)));
            }
        }
        p.destroyForcibly();
        throw new AssertionError("the server did not start");
    }

    String key() throws Exception {
        return Files.readString(dir.resolve("data/api-key")).trim();
    }

    byte[] png() throws Exception {
        byte[] px = new byte[28 * 28];
        int x0 = random.nextInt(18);
        for (int y = 4; y < 24; y++) {
            for (int x = x0; x < x0 + 10; x++) {
                px[y * 28 + x] = (byte) (120 + random.nextInt(130));
            }
        }
        return Retriever.thumbnailPng(new RawImage(28, 28, 1, px));
    }

    @Test
    void acknowledgedChangesSurviveKillNineAndSigtermShutsDownGracefully() throws Exception {
        Server s = start("--empty");
        String key = key();
        for (int i = 0; i < 5; i++) {
            assertEquals(201, s.send("PUT", "/api/gallery/item-" + i, png(), key).statusCode());
        }
        assertEquals(200, s.send("DELETE", "/api/gallery/item-2", null, key).statusCode());
        s.process().destroyForcibly();  // SIGKILL: no shutdown hook, no snapshot
        assertTrue(s.process().waitFor(30, TimeUnit.SECONDS));
        assertTrue(Files.notExists(dir.resolve("data/gallery/gallery.snap")), "nothing but the log holds them");

        Server again = start("--empty");
        JsonNode gallery = again.json("/api/gallery?n=10");
        assertEquals(4, gallery.path("size").asInt(), gallery.toString());
        assertEquals("[\"item-0\",\"item-1\",\"item-3\",\"item-4\"]", gallery.path("ids").toString());
        assertEquals(404, again.send("GET", "/api/gallery/item-2/thumbnail", null, null).statusCode());
        assertEquals(200, again.send("GET", "/api/gallery/item-4/thumbnail", null, null).statusCode());

        again.process().destroy();  // SIGTERM: graceful, writes a snapshot
        assertEquals(143, again.process().waitFor(), "exit after SIGTERM");
        assertTrue(Files.exists(dir.resolve("data/gallery/gallery.snap")));
        Server third = start("--empty");
        assertEquals(4, third.json("/api/gallery").path("size").asInt());
        third.process().destroyForcibly();
        third.process().waitFor(30, TimeUnit.SECONDS);
    }

    /** The web page in real headless Chromium: loads the gallery, searches with a sample, shows results and cost. */
    @Test
    void webPageWorksInHeadlessChromium() throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        assertTrue(Files.isExecutable(chromium), "chromium is needed (bin/env.sh installs it)");
        Server s = start("--empty");
        String key = key();
        for (int i = 0; i < 8; i++) {
            assertEquals(201, s.send("PUT", "/api/gallery/sample-" + i, png(), key).statusCode());
        }
        String page = "http://127.0.0.1:" + s.port() + "/?q=sample-3";
        Path artifacts = Path.of("target", "test-artifacts");
        Files.createDirectories(artifacts);
        Path shot = artifacts.resolve("web-page.png");
        Files.deleteIfExists(shot);
        List<String> common = List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--hide-scrollbars", "--window-size=1280,1000", "--virtual-time-budget=15000",
                "--user-data-dir=" + dir.resolve("chromium-profile"));
        List<String> dump = new ArrayList<>(common);
        dump.addAll(List.of("--dump-dom", page));
        Process p = new ProcessBuilder(dump).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertTrue(dom.contains("8 gallery images"), dom);
        assertEquals(8, count(dom, "class=\"cell sample\""), dom);
        assertEquals(8, count(dom, "class=\"cell result\""), "all 8 gallery items as results (k = 12)");
        assertTrue(dom.contains("M MACs") && dom.contains("<div id=\"error\"></div>"), dom);

        List<String> screenshot = new ArrayList<>(common);
        screenshot.addAll(List.of("--screenshot=" + shot.toAbsolutePath(), page));
        Process q = new ProcessBuilder(screenshot).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(q.waitFor(120, TimeUnit.SECONDS));
        assertTrue(Files.size(shot) > 10_000, "screenshot written");
        s.process().destroyForcibly();
        s.process().waitFor(30, TimeUnit.SECONDS);
    }

    static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
