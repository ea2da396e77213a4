package org.affengine.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstanceBenchmarkTest {
    @TempDir
    Path dir;

    Path sources;

    static final InstanceBenchmark.Config SMALL = new InstanceBenchmark.Config(7, 2, 2, 1, 2, 64);
    static final List<InstanceBenchmark.Pair> PAIRS = List.of(new InstanceBenchmark.Pair("left", "right"));
    static final List<String> DISTRACTORS = List.of("texture");

    /** Fresh random scenes (shapes on a gradient), a viewpoint pair and a texture, as PNG and JPEG files. */
    @BeforeEach
    void makeSources() throws Exception {
        sources = dir.resolve("sources");
        Files.createDirectories(sources);
        Random random = new Random();
        BufferedImage pairScene = scene(random, 240, 180);
        for (String name : List.of("alpha", "beta", "gamma", "texture")) {
            ImageIO.write(scene(random, 200 + random.nextInt(80), 150 + random.nextInt(60)), "png",
                    sources.resolve(name + ".png").toFile());
        }
        ImageIO.write(pairScene, "png", sources.resolve("left.png").toFile());
        ImageIO.write(ImageViews.view(pairScene, ImageViews.EASY, 200, new java.util.SplittableRandom(3)), "jpg",
                sources.resolve("right.jpg").toFile());
    }

    static BufferedImage scene(Random random, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setPaint(new java.awt.GradientPaint(0, 0, new Color(random.nextInt(1 << 24)), w, h,
                new Color(random.nextInt(1 << 24))));
        g.fillRect(0, 0, w, h);
        for (int i = 0; i < 12; i++) {
            g.setColor(new Color(random.nextInt(1 << 24)));
            int x = random.nextInt(w);
            int y = random.nextInt(h);
            if (i % 2 == 0) {
                g.fillOval(x, y, 10 + random.nextInt(50), 10 + random.nextInt(50));
            } else {
                g.fillRect(x, y, 10 + random.nextInt(60), 10 + random.nextInt(40));
            }
        }
        g.dispose();
        return img;
    }

    static Map<String, byte[]> contents(Path root) throws Exception {
        Map<String, byte[]> out = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    /** A ground-truth homography (OpenCV XML) turns into the query box: the first image's frame in the second. */
    @Test
    void homographyGivesTheQueryBox() throws Exception {
        BufferedImage first = scene(new Random(), 200, 100);
        BufferedImage second = scene(new Random(), 400, 300);
        ImageIO.write(first, "png", dir.resolve("first.png").toFile());
        ImageIO.write(second, "png", dir.resolve("second.png").toFile());
        // second = 0.5 * first + (40, 30): the first image's frame covers [40, 140] x [30, 80] of the second.
        Files.writeString(dir.resolve("H.xml"), "<?xml version=\"1.0\"?>\n<opencv_storage>\n<H13 type_id="
                + "\"opencv-matrix\">\n  <rows>3</rows>\n  <cols>3</cols>\n  <dt>d</dt>\n  <data>\n"
                + "\t5.0e-01 0. 4.0e+01\n\t0. 5.0e-01 3.0e+01\n\t0. 0. 1.0e+00 </data></H13>\n</opencv_storage>\n");
        BufferedImage resized = ImageViews.fit(second, 200);  // half size
        double[] box = InstanceBenchmark.projectedBox(dir.resolve("H.xml"), dir.resolve("first.png"),
                dir.resolve("second.png"), resized);
        assertArrayEquals(new double[] {20, 15, 70, 40}, box, 1e-9);
        Files.writeString(dir.resolve("bad.xml"), "<opencv_storage/>");
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> InstanceBenchmark.readOpenCvMatrix(dir.resolve("bad.xml"))).getMessage().contains("data"));
    }

    @Test
    void sameSeedGivesIdenticalFilesAndAnotherSeedDoesNot() throws Exception {
        InstanceBenchmark.build(sources, dir.resolve("a"), SMALL, PAIRS, DISTRACTORS);
        InstanceBenchmark.build(sources, dir.resolve("b"), SMALL, PAIRS, DISTRACTORS);
        InstanceBenchmark.build(sources, dir.resolve("c"), new InstanceBenchmark.Config(8, 2, 2, 1, 2, 64), PAIRS,
                DISTRACTORS);
        Map<String, byte[]> a = contents(dir.resolve("a"));
        Map<String, byte[]> b = contents(dir.resolve("b"));
        assertEquals(a.keySet(), b.keySet());
        for (String file : a.keySet()) {
            assertArrayEquals(a.get(file), b.get(file), file);
        }
        Map<String, byte[]> c = contents(dir.resolve("c"));
        assertNotEquals(new String(a.get("gnd_instances.json")), new String(c.get("gnd_instances.json")));
    }

    @Test
    void groundTruthHasTheRolesAndScoresAPerfectRankingAsOne() throws Exception {
        Path out = dir.resolve("bench");
        InstanceBenchmark.Summary s = InstanceBenchmark.build(sources, out, SMALL, PAIRS, DISTRACTORS);
        assertEquals(3, s.instances());
        assertEquals(1, s.pairs());
        assertEquals(4, s.queries());
        assertEquals(3 * 5 + 2 + 2, s.galleryImages());
        assertEquals(6, s.easy());
        assertEquals(6 + 2, s.hard());
        assertEquals(3, s.junk());
        assertTrue(Files.exists(out.resolve("preview.png")) && Files.exists(out.resolve("README.md")));

        for (String file : List.of("gnd_instances.pkl", "gnd_instances.json")) {
            RevisitopGround gnd = RevisitopGround.read(out.resolve(file));
            assertEquals(s.galleryImages(), gnd.imlist().size());
            for (String name : gnd.imlist()) {
                assertTrue(Files.exists(out.resolve("jpg").resolve(name + ".jpg")), name);
            }
            int n = gnd.imlist().size();
            int[][] perfect = new int[gnd.queries().size()][];
            int[][] worst = new int[gnd.queries().size()][];
            for (int q = 0; q < perfect.length; q++) {
                RevisitopGround.Query truth = gnd.queries().get(q);
                assertTrue(Files.exists(out.resolve("jpg").resolve(gnd.qimlist().get(q) + ".jpg")));
                Set<Integer> order = new LinkedHashSet<>();
                for (int[] set : List.of(truth.easy(), truth.hard(), truth.junk())) {
                    for (int i : set) {
                        order.add(i);
                    }
                }
                List<Integer> positives = new ArrayList<>(order);
                for (int i = 0; i < n; i++) {
                    order.add(i);
                }
                perfect[q] = order.stream().mapToInt(Integer::intValue).toArray();
                List<Integer> reversed = new ArrayList<>(order);
                reversed.removeAll(positives);
                reversed.addAll(positives);
                worst[q] = reversed.stream().mapToInt(Integer::intValue).toArray();
            }
            RevisitopEval.Result best = RevisitopEval.evaluate(perfect, gnd);
            assertEquals(1.0, best.easy().map(), 1e-12);
            assertEquals(1.0, best.medium().map(), 1e-12);
            assertEquals(1.0, best.hard().map(), 1e-12);
            assertTrue(RevisitopEval.evaluate(worst, gnd).medium().map() < 0.5);
        }
    }
}
