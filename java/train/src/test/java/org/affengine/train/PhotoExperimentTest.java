package org.affengine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.affengine.data.FeatureStore;
import org.affengine.eval.InstanceBenchmark;
import org.affengine.models.KerasGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The photo experiment end to end on a small scale: the real pretrained backbones (extracted from the pinned npm
 * package and imported), synthetic stamps as the training pool, a small instance benchmark built from synthetic
 * photos; every setting trains a few steps and is scored.
 */
class PhotoExperimentTest {
    static final Path TOOLS = Path.of("../..").toAbsolutePath().normalize().resolve("tools/tfjs");

    @TempDir
    static Path dir;

    static Path backbones;

    @BeforeAll
    static void importBackbones() throws Exception {
        assertTrue(Files.isDirectory(TOOLS.resolve("node_modules/nsfwjs")),
                "tools/tfjs has no node_modules: run bin/env.sh (npm ci)");
        Path extracted = dir.resolve("tfjs");
        Process p = new ProcessBuilder("node", TOOLS.resolve("extract.js").toString(), extracted.toString(),
                PhotoDescriber.MOBILENET, PhotoDescriber.INCEPTION).inheritIO().start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "node timed out");
        assertEquals(0, p.exitValue(), "extract.js failed");
        backbones = dir.resolve("backbones");
        for (String model : List.of(PhotoDescriber.MOBILENET, PhotoDescriber.INCEPTION)) {
            KerasGraph.fromTfjs(extracted.resolve(model)).save(backbones.resolve(model), "test");
        }
    }

    /** Shapes on a transparent background, as the stamps are. */
    static BufferedImage stamp(Random random, int size) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_ARGB);
        Graphics2D g = img.createGraphics();
        for (int i = 0; i < 25; i++) {
            g.setColor(new Color(random.nextInt(1 << 24)));
            int x = random.nextInt(size * 3 / 4);
            int y = random.nextInt(size * 3 / 4);
            if (i % 2 == 0) {
                g.fillOval(x, y, 8 + random.nextInt(size / 3), 8 + random.nextInt(size / 3));
            } else {
                g.fillRect(x, y, 8 + random.nextInt(size / 3), 8 + random.nextInt(size / 4));
            }
        }
        g.dispose();
        return img;
    }

    static BufferedImage photo(Random random, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(random.nextInt(1 << 24)));
        g.fillRect(0, 0, w, h);
        g.drawImage(stamp(random, Math.min(w, h)), 0, 0, null);
        g.drawImage(stamp(random, Math.min(w, h) / 2), w / 2, h / 2, null);
        g.dispose();
        return img;
    }

    @Test
    void everySettingTrainsAndIsScored() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        List<Path> stamps = new ArrayList<>();
        Files.createDirectories(dir.resolve("stamps"));
        for (int i = 0; i < 6; i++) {
            Path f = dir.resolve("stamps").resolve("s" + i + ".png");
            ImageIO.write(stamp(random, 96 + random.nextInt(64)), "png", f.toFile());
            stamps.add(f);
        }
        Path sources = dir.resolve("photos");
        Files.createDirectories(sources);
        for (int i = 0; i < 3; i++) {
            ImageIO.write(photo(random, 240, 180), "jpg", sources.resolve("p" + i + ".jpg").toFile());
        }
        Path bench = dir.resolve("bench");
        InstanceBenchmark.build(sources, bench, new InstanceBenchmark.Config(seed, 2, 2, 1, 1, 160), List.of(),
                List.of());
        PhotoExperiment.Settings s = new PhotoExperiment.Settings(0, 2, 8, 8, 1e-3, 1e-4, 0.9, 16, 1, 2, 32, 32, 16,
                0.2, 8, 16, 8, 16, 8, 4, 6, 0, 0, seed, "block_11_add", 0.1);
        List<String> started = new ArrayList<>();
        AffExperiment.Monitor monitor = (label, steps) -> {
            started.add(label);
            return new AffExperiment.Monitor.Task() {
                @Override
                public void step() {}

                @Override
                public void close() {}
            };
        };
        Path work = dir.resolve("work");
        PhotoExperiment.Result r = PhotoExperiment.run(stamps, bench, backbones, work, s, monitor, 2);

        assertEquals(6, r.trainInstances());
        assertEquals(12, r.trainViews());
        assertEquals(3, r.queries());
        assertEquals(12, FeatureStore.open(work.resolve("train-features")).size());
        assertEquals(r.galleryImages(), FeatureStore.open(work.resolve("gallery-features")).size());
        List<String> ids = r.rows().stream().map(PhotoExperiment.Row::id).toList();
        for (String id : List.of("aff", "mlp", "coupled", "two-stage", "aff-learned", "aff-global",
                "symmetric:mixer", "untrained", "symmetric:inception_v3-mixed7-attention",
                "asymmetric:inception_v3-mixed7-attention")) {
            assertTrue(ids.contains(id), id + " missing from " + ids);
        }
        assertEquals(16, ids.size(), "4 symmetric, 4 asymmetric, 6 fused, ceiling and floor: " + ids);
        for (PhotoExperiment.Row row : r.rows()) {
            for (double v : new double[] {row.easy(), row.medium(), row.hard(), row.mediumMp10()}) {
                assertTrue(v >= 0 && v <= 100, row.id() + " scored " + v + ", seed " + seed);
            }
        }
        assertTrue(started.contains("aff") && started.contains("two-stage"), "trainings reported: " + started);
        assertTrue(PhotoReport.markdown(r).contains(", no local dropout,"), "the report says how it trained");
        // The query side is the MobileNetV2 trunk and a head; the gallery side adds InceptionV3, SIFT and the mixer.
        PhotoExperiment.Row aff = r.row("aff");
        assertTrue(aff.queryMacs() * 10 < aff.galleryMacs(), aff.queryMacs() + " vs " + aff.galleryMacs());
        assertTrue(r.queryMsPerImage() > 0 && r.queryMsPerImage() < r.galleryMsPerImage(),
                r.queryMsPerImage() + " ms vs " + r.galleryMsPerImage() + " ms");

        // The query model fine-tunes MobileNetV2's block 12 and block_13_expand on top of the frozen trunk.
        assertTrue(aff.query().contains("block_11_add+12 tuned layers"), aff.query());
        assertTrue(started.stream().anyMatch(l -> l.startsWith("describe")), "first run describes: " + started);
        assertTrue(started.contains("train the learned local model"), "first run trains the local model: " + started);
        // The learned local model reads the InceptionV3 maps of the first pass: no second pass over them.
        assertTrue(started.stream().noneMatch(l -> l.contains("(InceptionV3 maps)")), started.toString());
        FeatureStore gallery = FeatureStore.open(work.resolve("gallery-features"));
        for (int i = 0; i < gallery.size(); i++) {
            assertEquals(4, gallery.local("inception_v3-mixed7-attention", i).count(), "the top 4 of 17 x 17 locations");
        }

        // Another cut reruns only the trunk maps; the same settings again describe nothing. The rows without
        // training score the same every time.
        started.clear();
        PhotoExperiment.Settings otherCut = new PhotoExperiment.Settings(0, 2, 8, 8, 1e-3, 1e-4, 0.9, 16, 1, 2, 32, 32,
                16, 0.2, 8, 16, 8, 16, 8, 4, 6, 0, 0, seed, "block_12_add", 0.1);
        PhotoExperiment.run(stamps, bench, backbones, work, otherCut, monitor, 2);
        assertTrue(started.stream().filter(l -> l.startsWith("describe")).allMatch(l -> l.contains("(trunk maps"))
                && started.stream().filter(l -> l.contains("(trunk maps")).count() == 3
                && !started.contains("train the learned local model"),
                "a new cut describes the trunk maps of the 3 parts only: " + started);
        started.clear();
        PhotoExperiment.Result again = PhotoExperiment.run(stamps, bench, backbones, work, otherCut, monitor, 2);
        assertTrue(started.stream().noneMatch(l -> l.startsWith("describe")), "third run describes: " + started);
        for (PhotoExperiment.Row row : r.rows().subList(0, 4)) {
            assertTrue(row.id().startsWith("symmetric:"), row.id());
            assertEquals(row.medium(), again.row(row.id()).medium(), row.id());
            assertEquals(row.hard(), again.row(row.id()).hard(), row.id());
        }
        // Without one part's learned local sets (lost, or other settings), the model trains again on maps that
        // InceptionV3 computes again: the other descriptions stay cached.
        Files.delete(work.resolve("described/gallery-attention.described"));
        started.clear();
        PhotoExperiment.run(stamps, bench, backbones, work, otherCut, monitor, 2);
        assertEquals(List.of("describe training views (InceptionV3 maps)", "describe benchmark gallery (InceptionV3 "
                + "maps)", "describe benchmark queries (InceptionV3 maps)", "train the learned local model"),
                started.stream().filter(l -> l.startsWith("describe") || l.startsWith("train the")).toList());

        // Every third stamp to the learned local model alone: the mixer and the query model train on the other four
        // stamps' views (their descriptions as before, numbered from 0), the local model trains again on its own.
        String sift = "sift";
        FeatureStore before = FeatureStore.open(work.resolve("train-features"));
        List<float[]> stampOneSift = List.of(before.local(sift, 2).rows(), before.local(sift, 3).rows());
        PhotoExperiment.Settings ownPool = new PhotoExperiment.Settings(0, 2, 8, 8, 1e-3, 1e-4, 0.9, 16, 1, 2, 32,
                32, 16, 0.2, 8, 16, 8, 16, 8, 4, 6, 3, 0.5, seed, "block_12_add", 0.1);
        started.clear();
        PhotoExperiment.Result split = PhotoExperiment.run(stamps, bench, backbones, work, ownPool, monitor, 2);
        assertEquals(4, split.trainInstances());
        assertEquals(8, split.trainViews());
        assertEquals(2, split.localInstances());
        FeatureStore pool = FeatureStore.open(work.resolve("train-features"));
        assertEquals(8, pool.size());
        assertArrayEquals(stampOneSift.get(0), pool.local(sift, 0).rows());
        assertArrayEquals(stampOneSift.get(1), pool.local(sift, 1).rows());
        assertTrue(started.contains("train the learned local model") && started.stream()
                .filter(l -> l.startsWith("describe")).allMatch(l -> l.contains("(InceptionV3 maps)")), started.toString());
        String report = PhotoReport.markdown(split);
        assertTrue(report.contains("trained on its own 2 stamps") && report.contains("local dropout 0.5"), report);

        PhotoReport.write(r, work);
        assertTrue(Files.readString(work.resolve("table.md")).contains("| AFF: transformer mixer"));
        assertNotNull(ImageIO.read(work.resolve("map.png").toFile()));
        assertTrue(Files.size(work.resolve("results.json")) > 1000);
    }

    /** With the cut at the gallery's MobileNetV2 layer the whole trunk is frozen: nothing to tune, same maps. */
    @Test
    void aFrozenTrunkCutsAtTheGalleryLayer() throws Exception {
        Random random = new Random(System.nanoTime());
        List<org.affengine.data.RawImage> images = List.of(PhotoDescriber.rgb(photo(random, 200, 160)),
                PhotoDescriber.rgb(photo(random, 160, 200)));
        PhotoDescriber frozen = new PhotoDescriber(backbones, 8, PhotoDescriber.MOBILENET_LAYER);
        PhotoDescriber tuned = new PhotoDescriber(backbones, 8, "block_11_add");
        PhotoDescriber.Described a = frozen.describe(images, 2, n -> { }, null);
        PhotoDescriber.Described b = tuned.describe(images, 2, n -> { }, null);
        assertEquals(2 * 576 * 7 * 7, a.maps().length);
        assertEquals(2 * 96 * 7 * 7, b.maps().length);
        assertTrue(java.util.Arrays.equals(a.mobilenet(), b.mobilenet()), "the gallery GeM does not depend on the cut");
        assertEquals(0, frozen.tunedLayers(0.1).layerCount());
        assertEquals(12, tuned.tunedLayers(0.1).layerCount());
        assertEquals(frozen.mobilenetMacs(), frozen.trunkMacs());
        assertTrue(tuned.trunkMacs() < frozen.trunkMacs());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new PhotoDescriber(backbones, 8, "block_12_expand"));
        assertTrue(e.getMessage().contains("block_11_add"), e.getMessage());
    }

    @Test
    void chooseSpreadsOverTheList() {
        List<Path> all = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            all.add(Path.of("s" + i));
        }
        assertEquals(all, PhotoExperiment.choose(all, 0));
        assertEquals(all, PhotoExperiment.choose(all, 20));
        assertEquals(List.of(Path.of("s0"), Path.of("s3"), Path.of("s6")), PhotoExperiment.choose(all, 3));
    }
}
