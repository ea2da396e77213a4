package org.affengine.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Random;
import java.util.zip.ZipInputStream;
import org.affengine.train.AffModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP service over a real (untrained) model: every endpoint, and every kind of bad input as a JSON 4xx. */
class AffServiceTest {
    @TempDir
    static Path dir;

    static final String KEY = "test-key-0123456789abcdef";
    static final ObjectMapper JSON = new ObjectMapper();
    static AffModel model;
    static Retriever retriever;
    static AffService service;
    static final HttpClient HTTP = HttpClient.newHttpClient();
    final Random random = new Random();

    @BeforeAll
    static void start() throws Exception {
        model = TinyModel.create(dir, 16);
        retriever = Retriever.open(model, dir.resolve("gallery"));
        service = new AffService(retriever, new AffService.Config("127.0.0.1", 0, KEY, 64 * 1024, 16,
                dir.resolve("bundle"), 0));
    }

    @AfterAll
    static void stop() throws Exception {
        service.close();
        retriever.close();
    }

    static HttpResponse<byte[]> send(String method, String path, String type, byte[] body, String key)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (type != null) {
            b.header("Content-Type", type);
        }
        if (key != null) {
            b.header("X-API-Key", key);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static JsonNode json(HttpResponse<byte[]> r) throws Exception {
        return JSON.readTree(r.body());
    }

    byte[] png() throws Exception {
        return Retriever.thumbnailPng(TinyModel.image(random));
    }

    /** A 4xx with a JSON error body mentioning the given words. */
    static void refused(HttpResponse<byte[]> r, int status, String words) throws Exception {
        assertEquals(status, r.statusCode(), new String(r.body()));
        JsonNode body = json(r);
        assertTrue(body.path("error").asText().contains(words), body.toString());
    }

    @Test
    void galleryChangesSearchesAndOperations() throws Exception {
        byte[] image = png();
        refused(send("PUT", "/api/gallery/shoe-1", "image/png", image, null), 401, "X-API-Key");
        refused(send("PUT", "/api/gallery/shoe-1", "image/png", image, "wrong-key-0123456789"), 401, "X-API-Key");
        assertEquals(201, send("PUT", "/api/gallery/shoe-1", "image/png", image, KEY).statusCode());
        assertEquals(200, send("PUT", "/api/gallery/shoe-1", "image/png", image, KEY).statusCode());
        HttpRequest withMeta = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port()
                        + "/api/gallery/shoe-2")).header("Content-Type", "image/png").header("X-API-Key", KEY)
                .header("X-AFF-Metadata", "{\"label\":\"Sneaker\"}")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(png())).build();
        assertEquals(201, HTTP.send(withMeta, HttpResponse.BodyHandlers.ofByteArray()).statusCode());

        HttpResponse<byte[]> thumb = send("GET", "/api/gallery/shoe-2/thumbnail", null, null, null);
        assertEquals(200, thumb.statusCode());
        assertEquals("image/png", thumb.headers().firstValue("Content-Type").orElse(""));
        assertEquals("Sneaker", json(send("GET", "/api/gallery/shoe-2", null, null, null))
                .path("metadata").path("label").asText());

        float[] q = model.galleryVectors(java.util.List.of(javax.imageio.ImageIO.read(
                new java.io.ByteArrayInputStream(image)) == null ? null : decode(image)))[0];
        StringBuilder vector = new StringBuilder("{\"k\": 2, \"vector\": [");
        for (int i = 0; i < q.length; i++) {
            vector.append(i > 0 ? "," : "").append(q[i]);
        }
        vector.append("]}");
        JsonNode hits = json(send("POST", "/api/search/vector", "application/json", vector.toString().getBytes(),
                null));
        assertEquals("shoe-1", hits.path("results").get(0).path("id").asText(), hits.toString());

        ByteBuffer fp16 = ByteBuffer.allocate(2 * q.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : q) {
            fp16.putShort(Float.floatToFloat16(f));
        }
        String body = "{\"k\": 1, \"vector_fp16\": \"" + Base64.getEncoder().encodeToString(fp16.array()) + "\"}";
        assertEquals("shoe-1", json(send("POST", "/api/search/vector", "application/json", body.getBytes(), null))
                .path("results").get(0).path("id").asText());

        String batch = "{\"k\": 1, \"vectors\": [" + vector.substring(vector.indexOf("["), vector.length() - 1)
                + "," + vector.substring(vector.indexOf("["), vector.length() - 1) + "]}";
        JsonNode both = json(send("POST", "/api/search/batch", "application/json", batch.getBytes(), null));
        assertEquals(2, both.path("results").size(), both.toString());

        String boundary = "----aff" + random.nextInt(1_000_000);
        java.io.ByteArrayOutputStream form = new java.io.ByteArrayOutputStream();
        form.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--" + boundary
                + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"q.png\"\r\nContent-Type: image/png"
                + "\r\n\r\n").getBytes());
        form.write(image);
        form.write(("\r\n--" + boundary + "--\r\n").getBytes());
        JsonNode byForm = json(send("POST", "/api/search/image?k=1", "multipart/form-data; boundary=" + boundary,
                form.toByteArray(), null));
        assertEquals(1, byForm.path("results").size(), byForm.toString());
        refused(send("POST", "/api/search/image", "multipart/form-data; boundary=" + boundary,
                ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--" + boundary
                        + "--\r\n").getBytes(), null), 400, "no file part");

        JsonNode byImage = json(send("POST", "/api/search/image?k=2", "image/png", png(), null));
        assertEquals(2, byImage.path("results").size(), byImage.toString());
        assertTrue(byImage.path("query_macs").asLong() > 0 && byImage.path("gallery_macs_per_image").asLong()
                > byImage.path("query_macs").asLong());

        assertEquals(200, send("DELETE", "/api/gallery/shoe-2", null, null, KEY).statusCode());
        refused(send("DELETE", "/api/gallery/shoe-2", null, null, KEY), 404, "shoe-2");
        refused(send("GET", "/api/gallery/shoe-2/thumbnail", null, null, null), 404, "shoe-2");
        assertEquals(1, json(send("GET", "/api/info", null, null, null)).path("gallery").asInt());

        String metrics = new String(send("GET", "/metrics", null, null, null).body());
        assertTrue(metrics.contains("aff_requests_total{route=\"/api/search/vector\",status=\"200\"}"), metrics);
        assertTrue(metrics.contains("aff_request_seconds_bucket") && metrics.contains("aff_gallery_items 1"));
        assertEquals("UP", json(send("GET", "/health/ready", null, null, null)).path("status").asText());
        assertEquals("UP", json(send("GET", "/health/live", null, null, null)).path("status").asText());
        assertTrue(new String(send("GET", "/openapi.yaml", null, null, null).body()).contains("/api/search/image"));
        assertTrue(new String(send("GET", "/", null, null, null).body()).contains("AFF engine"));

        HttpResponse<byte[]> zip = send("GET", "/api/model/bundle", null, null, null);
        try (ZipInputStream in = new ZipInputStream(new java.io.ByteArrayInputStream(zip.body()))) {
            assertEquals("bundle.json", in.getNextEntry().getName());
            assertEquals("model.safetensors", in.getNextEntry().getName());
        }
    }

    static org.affengine.data.RawImage decode(byte[] png) throws Exception {
        return new org.affengine.data.ImageCodec().decode(png, false);
    }

    @Test
    void badInputGetsAJsonErrorAndTheServerStaysUp() throws Exception {
        int before = retriever.size();
        refused(send("POST", "/api/search/vector", "text/plain", "{}".getBytes(), null), 415, "application/json");
        refused(send("POST", "/api/search/vector", "application/json", "{\"vector\": [1, 2".getBytes(), null), 400,
                "malformed JSON");
        refused(send("POST", "/api/search/vector", "application/json", "{\"vector\": [1, 2]}".getBytes(), null),
                400, "16 values");
        refused(send("POST", "/api/search/vector", "application/json",
                "{\"vector\": [1, \"x\"]}".getBytes(), null), 400, "not a number");
        ByteBuffer nan = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 16; i++) {
            nan.putShort(i == 5 ? (short) 0x7e00 : (short) 0x3c00);
        }
        refused(send("POST", "/api/search/vector", "application/json", ("{\"vector_fp16\": \""
                + Base64.getEncoder().encodeToString(nan.array()) + "\"}").getBytes(), null), 400, "NaN");
        refused(send("POST", "/api/search/vector", "application/json", "{\"vector\": [], \"k\": 0}".getBytes(),
                null), 400, "");
        refused(send("POST", "/api/search/image", "application/json", png(), null), 415, "image/*");
        refused(send("POST", "/api/search/image", "image/png", "not an image at all".getBytes(), null), 400, "");
        byte[] truncated = java.util.Arrays.copyOf(png(), 40);
        refused(send("POST", "/api/search/image", "image/png", truncated, null), 400, "");
        refused(send("POST", "/api/search/image", "image/png", new byte[70 * 1024], null), 413, "exceeds");
        refused(send("PUT", "/api/gallery/bad%20id", "image/png", png(), KEY), 400, "id must be");
        refused(send("PUT", "/api/gallery/..%2F..%2Fetc", "image/png", png(), KEY), 404, "not found");
        refused(send("GET", "/api/nothing-here", null, null, null), 404, "not found");
        refused(send("GET", "/api/gallery/nobody/thumbnail", null, null, null), 404, "nobody");
        refused(send("POST", "/api/search/image?k=abc", "image/png", png(), null), 400, "integer");
        assertEquals(before, retriever.size());
        assertEquals("UP", json(send("GET", "/health/live", null, null, null)).path("status").asText());
    }
}
