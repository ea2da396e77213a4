package org.affengine.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.affengine.data.ImageCodec;
import org.affengine.data.ImageException;
import org.affengine.data.RawImage;

/**
 * The HTTP service (Helidon SE): search by vector, by image and in batches; gallery add, replace, delete and
 * thumbnails; the query model bundle for on-device encoding; health, Prometheus metrics, the OpenAPI document and the
 * web page. Every error is a 4xx/5xx with a JSON body {"error": ...}; mutating calls need the API key; nothing a
 * request says is ever used as a file path.
 */
public final class AffService implements AutoCloseable {
    /**
     * @param apiKey required in the X-API-Key header of mutating calls
     * @param maxBodyBytes largest request body accepted (413 beyond)
     * @param maxConcurrent requests served at once (503 beyond)
     * @param bundleDir the model bundle offered for download (its two files, read by fixed names)
     * @param snapshotSeconds how often changes are folded into a gallery snapshot (0: never)
     */
    public record Config(String host, int port, String apiKey, int maxBodyBytes, int maxConcurrent, Path bundleDir,
                         long snapshotSeconds) {
        public Config {
            if (apiKey == null || apiKey.length() < 16) {
                throw new IllegalArgumentException("the API key must have at least 16 characters");
            }
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String STATIC = "/org/affengine/serve/";

    private final Retriever retriever;
    private final Config config;
    private final Metrics metrics = new Metrics();
    private final ImageCodec codec;
    private final AtomicLong changes = new AtomicLong();
    private final ScheduledExecutorService snapshots = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "aff-snapshot");
        t.setDaemon(true);
        return t;
    });
    private final WebServer server;
    private volatile boolean ready;

    /** Starts serving; returns once the port is bound. */
    public AffService(Retriever retriever, Config config) {
        this.retriever = retriever;
        this.config = config;
        this.codec = new ImageCodec(new ImageCodec.Limits(config.maxBodyBytes(), 16L << 20));
        metrics.gauge("aff_gallery_items", () -> retriever.size());
        metrics.gauge("aff_gallery_dimension", retriever::dim);
        server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .maxPayloadSize(config.maxBodyBytes() + 1024L)
                .maxConcurrentRequests(config.maxConcurrent())
                .shutdownGracePeriod(Duration.ofSeconds(5))
                .shutdownHook(false)
                .directHandlers(d -> d.addHandler(DirectHandler.EventType.PAYLOAD_TOO_LARGE, this::direct)
                        .addHandler(DirectHandler.EventType.BAD_REQUEST, this::direct))
                .routing(this::routing)
                .build()
                .start();
        if (config.snapshotSeconds() > 0) {
            snapshots.scheduleWithFixedDelay(this::snapshotIfChanged, config.snapshotSeconds(),
                    config.snapshotSeconds(), TimeUnit.SECONDS);
        }
        ready = true;
    }

    /** Errors Helidon answers before routing (oversize body, unparsable request), as the same JSON errors. */
    private DirectHandler.TransportResponse direct(DirectHandler.TransportRequest req, DirectHandler.EventType type,
                                                   Status status, io.helidon.http.ServerResponseHeaders headers,
                                                   String message) {
        String text = status.code() == 413 ? "the body exceeds the limit of " + config.maxBodyBytes() + " bytes"
                : "bad request: " + (message != null ? message : status.reasonPhrase());
        return DirectHandler.TransportResponse.builder().status(status).headers(headers)
                .header(HeaderNames.CONTENT_TYPE, "application/json").entity(errorBody(status, text))
                .keepAlive(type.keepAlive()).build();
    }

    public int port() {
        return server.port();
    }

    private void routing(HttpRouting.Builder r) {
        r.addFilter((chain, req, res) -> {
            long t0 = System.nanoTime();
            try {
                chain.proceed();
            } finally {
                long nanos = System.nanoTime() - t0;
                String route = req.matchingPattern().orElse("other");
                metrics.record(route, res.status().code(), nanos);
                System.out.println(String.format(java.util.Locale.ROOT,
                        "{\"time\":\"%s\",\"method\":\"%s\",\"path\":%s,\"status\":%d,\"ms\":%.3f,\"remote\":\"%s\"}",
                        Instant.now(), req.prologue().method().text(), quote(req.path().path()),
                        res.status().code(), nanos / 1e6, req.remotePeer().host()));
            }
        });
        r.error(BadRequest.class, (req, res, e) -> error(res, e.status, e.getMessage()));
        r.error(IllegalArgumentException.class, (req, res, e) -> error(res, Status.BAD_REQUEST_400, e.getMessage()));
        r.error(ImageException.class, (req, res, e) -> error(res, Status.BAD_REQUEST_400, e.getMessage()));
        r.error(JsonProcessingException.class, (req, res, e) -> error(res, Status.BAD_REQUEST_400,
                "malformed JSON: " + e.getOriginalMessage()));
        r.error(io.helidon.http.HttpException.class, (req, res, e) -> error(res, e.status(), e.getMessage()));
        r.error(Exception.class, (req, res, e) -> error(res, Status.INTERNAL_SERVER_ERROR_500,
                e.getClass().getSimpleName() + ": " + e.getMessage()));

        r.get("/", (req, res) -> resource(res, "index.html", "text/html; charset=utf-8"));
        r.get("/openapi.yaml", (req, res) -> resource(res, "openapi.yaml", "application/yaml"));
        r.get("/health/live", (req, res) -> json(res, Map.of("status", "UP")));
        r.get("/health/ready", (req, res) -> {
            if (!ready) {
                res.status(Status.SERVICE_UNAVAILABLE_503);
            }
            json(res, Map.of("status", ready ? "UP" : "DOWN", "gallery", retriever.size()));
        });
        r.get("/metrics", (req, res) -> {
            res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4");
            res.send(metrics.prometheus().getBytes(StandardCharsets.UTF_8));
        });
        r.get("/api/info", (req, res) -> json(res, info()));
        r.get("/api/model/bundle", this::bundle);
        r.post("/api/search/vector", this::searchVector);
        r.post("/api/search/batch", this::searchBatch);
        r.post("/api/search/image", this::searchImage);
        r.get("/api/gallery", (req, res) -> json(res, Map.of("size", retriever.size(), "ids",
                retriever.ids(Math.min(200, intParam(req, "n", 24))))));
        r.get("/api/gallery/{id}/thumbnail", (req, res) -> {
            String id = pathId(req);
            byte[] png = retriever.thumbnail(id).orElseThrow(() -> new BadRequest(Status.NOT_FOUND_404,
                    "no thumbnail for '" + id + "'"));
            res.header(HeaderNames.CONTENT_TYPE, "image/png");
            res.header(HeaderNames.CACHE_CONTROL, "no-cache");
            res.send(png);
        });
        r.get("/api/gallery/{id}", (req, res) -> {
            String id = pathId(req);
            Map<String, String> meta = retriever.metadata(id).orElseThrow(() -> new BadRequest(
                    Status.NOT_FOUND_404, "no gallery item '" + id + "'"));
            json(res, Map.of("id", id, "metadata", meta));
        });
        r.put("/api/gallery/{id}", this::put);
        r.delete("/api/gallery/{id}", (req, res) -> {
            authorise(req);
            String id = pathId(req);
            if (!retriever.remove(id)) {
                throw new BadRequest(Status.NOT_FOUND_404, "no gallery item '" + id + "'");
            }
            changes.incrementAndGet();
            json(res, Map.of("deleted", id));
        });
    }

    private Map<String, Object> info() {
        var meta = retriever.model().meta();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("gallery", retriever.size());
        out.put("dimension", retriever.dim());
        out.put("encoder", meta.encoder());
        out.put("gallery_features", meta.inputs().stream().map(s -> s.name()).toList());
        out.put("query_model", meta.query());
        out.put("gallery_macs_per_image", retriever.model().galleryMacs());
        out.put("query_macs_per_image", meta.query().macs());
        out.put("bundle_crc32c", meta.tensorsCrc32c());
        out.put("index_backend", retriever.indexBackend());
        return out;
    }

    private void searchVector(ServerRequest req, ServerResponse res) throws IOException {
        JsonNode body = jsonBody(req);
        float[] q = vector(body);
        int k = body.path("k").asInt(10);
        long t0 = System.nanoTime();
        List<Retriever.Hit> hits = retriever.search(q, k);
        json(res, Map.of("results", hits, "search_ms", (System.nanoTime() - t0) / 1e6));
    }

    private void searchBatch(ServerRequest req, ServerResponse res) throws IOException {
        JsonNode body = jsonBody(req);
        JsonNode vectors = body.path("vectors");
        if (!vectors.isArray() || vectors.isEmpty() || vectors.size() > 1024) {
            throw new BadRequest(Status.BAD_REQUEST_400, "'vectors' must be an array of 1 to 1024 vectors");
        }
        float[][] qs = new float[vectors.size()][];
        for (int i = 0; i < qs.length; i++) {
            qs[i] = floats(vectors.get(i), "vectors[" + i + "]");
        }
        json(res, Map.of("results", retriever.searchBatch(qs, body.path("k").asInt(10))));
    }

    private void searchImage(ServerRequest req, ServerResponse res) throws IOException, ImageException {
        int k = intParam(req, "k", 10);
        RawImage image = image(req);
        long t0 = System.nanoTime();
        float[] q = retriever.model().queryVectors(List.of(image))[0];
        long t1 = System.nanoTime();
        List<Retriever.Hit> hits = retriever.search(q, k);
        long t2 = System.nanoTime();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("results", hits);
        out.put("query_encode_ms", (t1 - t0) / 1e6);
        out.put("search_ms", (t2 - t1) / 1e6);
        out.put("query_macs", retriever.model().meta().query().macs());
        out.put("gallery_macs_per_image", retriever.model().galleryMacs());
        json(res, out);
    }

    private void put(ServerRequest req, ServerResponse res) throws IOException, ImageException {
        authorise(req);
        String id = pathId(req);
        Map<String, String> meta = Map.of();
        Optional<String> header = req.headers().first(HeaderNames.create("X-AFF-Metadata"));
        if (header.isPresent()) {
            meta = JSON.readValue(header.get(), new TypeReference<LinkedHashMap<String, String>>() {});
        }
        boolean existed = retriever.contains(id);
        retriever.put(id, image(req), meta);
        changes.incrementAndGet();
        res.status(existed ? Status.OK_200 : Status.CREATED_201);
        json(res, Map.of(existed ? "replaced" : "created", id));
    }

    private void bundle(ServerRequest req, ServerResponse res) throws IOException {
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(zip)) {
            for (String name : new String[] {"bundle.json", "model.safetensors"}) {
                out.putNextEntry(new ZipEntry(name));
                out.write(Files.readAllBytes(config.bundleDir().resolve(name)));
                out.closeEntry();
            }
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/zip");
        res.header(HeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"aff-bundle.zip\"");
        res.send(zip.toByteArray());
    }

    /** The image of a request: raw bytes (image/* or application/octet-stream) or the file of a multipart form. */
    private RawImage image(ServerRequest req) throws IOException, ImageException {
        String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        Optional<String> boundary = Multipart.boundary(type);
        if (!type.startsWith("image/") && !type.startsWith("application/octet-stream") && boundary.isEmpty()) {
            throw new BadRequest(Status.UNSUPPORTED_MEDIA_TYPE_415, "send the image as raw bytes with an image/* "
                    + "content type, or as the file of a multipart/form-data body, not '" + type + "'");
        }
        byte[] bytes = body(req);
        if (boundary.isPresent()) {
            bytes = Multipart.filePart(bytes, boundary.get()).orElseThrow(() -> new BadRequest(
                    Status.BAD_REQUEST_400, "the multipart body has no file part"));
        }
        if (bytes.length == 0) {
            throw new BadRequest(Status.BAD_REQUEST_400, "empty image");
        }
        return codec.decode(bytes, false);
    }

    private JsonNode jsonBody(ServerRequest req) throws IOException {
        String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
        if (!type.startsWith("application/json")) {
            throw new BadRequest(Status.UNSUPPORTED_MEDIA_TYPE_415, "send JSON with content type application/json, "
                    + "not '" + type + "'");
        }
        JsonNode node = JSON.readTree(body(req));
        if (node == null || !node.isObject()) {
            throw new BadRequest(Status.BAD_REQUEST_400, "the body must be a JSON object");
        }
        return node;
    }

    /** The body, refused with 413 past the limit (read no further than the limit + 1 byte). */
    private byte[] body(ServerRequest req) throws IOException {
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        try (InputStream in = req.content().inputStream()) {
            byte[] data = in.readNBytes(config.maxBodyBytes() + 1);
            if (data.length > config.maxBodyBytes()) {
                throw new BadRequest(Status.REQUEST_ENTITY_TOO_LARGE_413, "the body exceeds "
                        + config.maxBodyBytes() + " bytes");
            }
            return data;
        } catch (UncheckedIOException | IllegalStateException e) {
            throw new BadRequest(Status.REQUEST_ENTITY_TOO_LARGE_413, "the body exceeds the limit");
        }
    }

    /** A query vector from {"vector": [floats]} or {"vector_fp16": base64 of little-endian binary16}. */
    private float[] vector(JsonNode body) {
        if (body.has("vector")) {
            return floats(body.get("vector"), "vector");
        }
        if (body.has("vector_fp16")) {
            byte[] raw;
            try {
                raw = Base64.getDecoder().decode(body.get("vector_fp16").asText());
            } catch (IllegalArgumentException e) {
                throw new BadRequest(Status.BAD_REQUEST_400, "vector_fp16 is not base64");
            }
            if (raw.length % 2 != 0) {
                throw new BadRequest(Status.BAD_REQUEST_400, "vector_fp16 must hold 2 bytes per value");
            }
            ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            float[] v = new float[raw.length / 2];
            for (int i = 0; i < v.length; i++) {
                v[i] = Float.float16ToFloat(b.getShort());
            }
            return v;
        }
        throw new BadRequest(Status.BAD_REQUEST_400, "give 'vector' (JSON numbers) or 'vector_fp16' (base64)");
    }

    private static float[] floats(JsonNode node, String what) {
        if (node == null || !node.isArray()) {
            throw new BadRequest(Status.BAD_REQUEST_400, what + " must be an array of numbers");
        }
        float[] v = new float[node.size()];
        for (int i = 0; i < v.length; i++) {
            JsonNode x = node.get(i);
            if (!x.isNumber()) {
                throw new BadRequest(Status.BAD_REQUEST_400, what + "[" + i + "] is not a number");
            }
            v[i] = (float) x.asDouble();
        }
        return v;
    }

    private void authorise(ServerRequest req) {
        byte[] given = req.headers().first(HeaderNames.create("X-API-Key")).orElse("")
                .getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, config.apiKey().getBytes(StandardCharsets.UTF_8))) {
            throw new BadRequest(Status.UNAUTHORIZED_401, "missing or wrong X-API-Key");
        }
    }

    private static String pathId(ServerRequest req) {
        String id = req.path().pathParameters().get("id");
        Retriever.checkId(id);
        return id;
    }

    private static int intParam(ServerRequest req, String name, int fallback) {
        // Plain strings: Helidon's typed accessors go through its service registry, which failed under concurrent
        // first use in the shaded jar.
        if (!req.query().contains(name)) {
            return fallback;
        }
        try {
            return Integer.parseInt(req.query().get(name));
        } catch (NumberFormatException e) {
            throw new BadRequest(Status.BAD_REQUEST_400, name + " must be an integer");
        }
    }

    private static void json(ServerResponse res, Object value) throws JsonProcessingException {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(JSON.writeValueAsBytes(value));
    }

    private static void error(ServerResponse res, Status status, String message) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(errorBody(status, message));
    }

    /** Every error body: {"error": message, "status": code}. */
    private static byte[] errorBody(Status status, String message) {
        try {
            return JSON.writeValueAsBytes(Map.of("error", message == null ? status.reasonPhrase() : message,
                    "status", status.code()));
        } catch (JsonProcessingException e) {
            return new byte[0];
        }
    }

    private static void resource(ServerResponse res, String name, String type) throws IOException {
        try (InputStream in = AffService.class.getResourceAsStream(STATIC + name)) {
            res.header(HeaderNames.CONTENT_TYPE, type);
            res.send(in.readAllBytes());
        }
    }

    private static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            return "\"?\"";
        }
    }

    private void snapshotIfChanged() {
        if (changes.getAndSet(0) > 0) {
            try {
                retriever.snapshot();
            } catch (IOException e) {
                System.err.println("aff: snapshot failed (the log still holds every change): " + e.getMessage());
            }
        }
    }

    /** Stops accepting requests, lets running ones finish, and snapshots. */
    @Override
    public void close() throws IOException {
        ready = false;
        server.stop();
        snapshots.shutdownNow();
        retriever.snapshot();
    }

    /** A client error with its status. */
    static final class BadRequest extends RuntimeException {
        final Status status;

        BadRequest(Status status, String message) {
            super(message);
            this.status = status;
        }
    }
}
