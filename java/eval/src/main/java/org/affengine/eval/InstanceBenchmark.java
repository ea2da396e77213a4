package org.affengine.eval;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * An instance-level retrieval benchmark built from real photographs, written in the revisitop layout
 * ({@code jpg/} + {@code gnd_instances.pkl} and {@code .json}) so every revisitop tool scores it unchanged.
 *
 * <p>Each source photo is one instance. Its query is a mild view of the photo with a bounding box; the gallery
 * holds views of it at three strengths that play revisitop's roles: easy (clearly the same scene: most of it,
 * small rotation and perspective, mild colour change), hard (a third to a half of it, strong rotation and
 * perspective, blur, noise, occlusion, heavy JPEG) and junk (a sliver of it under extreme changes: unclear,
 * ignored by the protocol). Real multi-view pairs (different viewpoints of one scene, photographed) add hard
 * queries: the second image queries, the first and a mild view of it are its hard positives. Distractor photos
 * (textures, other scenes) and their views fill the rest of the gallery. Generation is deterministic for a seed:
 * the same seed and sources give byte-identical files.
 */
public final class InstanceBenchmark {
    /** How many views of each kind; the output's long side in pixels. */
    public record Config(long seed, int easyViews, int hardViews, int junkViews, int distractorViews, int size) {
        public static Config defaults(long seed) {
            return new Config(seed, 3, 3, 2, 4, 512);
        }
    }

    /**
     * A real multi-view pair: the second image is another viewpoint of the first. With a ground-truth homography
     * (an OpenCV FileStorage XML file next to the photos, mapping first to second), the query box is the part of
     * the second image that shows the first; without one it is the whole image.
     */
    public record Pair(String first, String second, String homographyFile) {
        public Pair(String first, String second) {
            this(first, second, null);
        }
    }

    /** What went into a benchmark and how many images each role has. */
    public record Summary(int instances, int pairs, int distractorPhotos, int galleryImages, int queries,
                          int easy, int hard, int junk, int distractors) {}

    private InstanceBenchmark() {}

    /**
     * Builds the benchmark from photos in {@code sources} (searched recursively): every photo is an instance
     * except the files named in {@code pairs} and {@code distractors} (matched by file name without extension).
     */
    public static Summary build(Path sources, Path out, Config config, List<Pair> pairs, List<String> distractors)
            throws IOException {
        Map<String, Path> photos = findPhotos(sources);
        List<String> pairNames = new ArrayList<>();
        List<Pair> presentPairs = new ArrayList<>();
        for (Pair p : pairs) {
            if (photos.containsKey(p.first()) && photos.containsKey(p.second())) {
                presentPairs.add(p);
            }
            pairNames.add(p.first());
            pairNames.add(p.second());
        }
        List<String> instances = new ArrayList<>();
        List<String> distractorPhotos = new ArrayList<>();
        for (String name : photos.keySet()) {
            if (distractors.contains(name)) {
                distractorPhotos.add(name);
            } else if (!pairNames.contains(name)) {
                instances.add(name);
            }
        }
        if (instances.isEmpty()) {
            throw new IOException(sources + ": no photos to make instances from");
        }
        Path jpg = out.resolve("jpg");
        Files.createDirectories(jpg);

        // Gallery entries are made first, then shuffled with the seed so positives are not adjacent.
        List<Entry> gallery = new ArrayList<>();
        List<String> queryNames = new ArrayList<>();
        List<BufferedImage> queryImages = new ArrayList<>();
        List<double[]> boxes = new ArrayList<>();
        List<String> queryOwners = new ArrayList<>();
        int instanceIndex = 0;
        for (String name : instances) {
            BufferedImage src = load(photos.get(name), config.size() * 2);
            int view = 0;
            for (ImageViews.Strength s : List.of(ImageViews.EASY, ImageViews.HARD, ImageViews.JUNK)) {
                int count = s == ImageViews.EASY ? config.easyViews() : s == ImageViews.HARD ? config.hardViews()
                        : config.junkViews();
                for (int i = 0; i < count; i++) {
                    SplittableRandom rnd = random(config.seed(), instanceIndex, view++);
                    gallery.add(new Entry(name, s.name(), ImageViews.view(src, s, config.size(), rnd),
                            quality(s, rnd)));
                }
            }
            SplittableRandom rnd = random(config.seed(), instanceIndex, 1000);
            BufferedImage q = ImageViews.view(src, ImageViews.EASY, config.size(), rnd);
            queryNames.add("q_" + name);
            queryImages.add(q);
            boxes.add(centralBox(q, rnd));
            queryOwners.add(name);
            instanceIndex++;
        }
        for (Pair p : presentPairs) {
            BufferedImage first = load(photos.get(p.first()), config.size());
            gallery.add(new Entry(p.second(), "hard", first, 95));
            SplittableRandom rnd = random(config.seed(), instanceIndex++, 0);
            gallery.add(new Entry(p.second(), "hard", ImageViews.view(load(photos.get(p.first()), config.size() * 2),
                    ImageViews.EASY, config.size(), rnd), 90));
            BufferedImage second = load(photos.get(p.second()), config.size());
            queryNames.add("q_" + p.second());
            queryImages.add(second);
            boxes.add(p.homographyFile() == null ? new double[] {0, 0, second.getWidth(), second.getHeight()}
                    : projectedBox(sources.resolve(p.homographyFile()), photos.get(p.first()), photos.get(p.second()),
                            second));
            queryOwners.add(p.second());
        }
        int distractorCount = 0;
        for (String name : distractorPhotos) {
            BufferedImage src = load(photos.get(name), config.size() * 2);
            for (int i = 0; i < config.distractorViews(); i++) {
                SplittableRandom rnd = random(config.seed(), instanceIndex, i);
                ImageViews.Strength s = i % 2 == 0 ? ImageViews.EASY : ImageViews.HARD;
                gallery.add(new Entry(null, "distractor", ImageViews.view(src, s, config.size(), rnd),
                        quality(s, rnd)));
                distractorCount++;
            }
            instanceIndex++;
        }
        shuffle(gallery, new SplittableRandom(config.seed() ^ 0x5eed));

        List<String> imlist = new ArrayList<>();
        for (int i = 0; i < gallery.size(); i++) {
            String name = String.format(Locale.ROOT, "g%05d", i);
            imlist.add(name);
            writeJpeg(gallery.get(i).image(), gallery.get(i).quality(), jpg.resolve(name + ".jpg"));
        }
        for (int q = 0; q < queryNames.size(); q++) {
            writeJpeg(queryImages.get(q), 95, jpg.resolve(queryNames.get(q) + ".jpg"));
        }
        List<RevisitopGround.Query> truth = new ArrayList<>();
        int easy = 0;
        int hard = 0;
        int junk = 0;
        for (int q = 0; q < queryNames.size(); q++) {
            String owner = queryOwners.get(q);
            truth.add(new RevisitopGround.Query(indices(gallery, owner, "easy"), indices(gallery, owner, "hard"),
                    indices(gallery, owner, "junk"), boxes.get(q)));
            easy += truth.get(q).easy().length;
            hard += truth.get(q).hard().length;
            junk += truth.get(q).junk().length;
        }
        RevisitopGround gnd = new RevisitopGround(imlist, queryNames, truth);
        gnd.write(out.resolve("gnd_instances.pkl"));
        gnd.write(out.resolve("gnd_instances.json"));
        Summary summary = new Summary(instances.size(), presentPairs.size(), distractorPhotos.size(), imlist.size(),
                queryNames.size(), easy, hard, junk, distractorCount);
        writeReadme(out, config, summary, instances, presentPairs, distractorPhotos);
        writePreview(out.resolve("preview.png"), queryImages, queryNames, gallery, queryOwners);
        return summary;
    }

    /** One row per query (up to 12): the query, then its easy, hard and junk views, as thumbnails. */
    private static void writePreview(Path path, List<BufferedImage> queries, List<String> names, List<Entry> gallery,
                                     List<String> owners) throws IOException {
        int thumb = 96;
        int rows = Math.min(12, queries.size());
        int columns = 1;
        for (String owner : owners) {
            int n = 0;
            for (Entry e : gallery) {
                n += owner.equals(e.owner()) ? 1 : 0;
            }
            columns = Math.max(columns, 1 + n);
        }
        BufferedImage sheet = new BufferedImage(columns * (thumb + 4) + 4, rows * (thumb + 18) + 4,
                BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = sheet.createGraphics();
        g.setRenderingHint(java.awt.RenderingHints.KEY_INTERPOLATION,
                java.awt.RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, sheet.getWidth(), sheet.getHeight());
        g.setFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 10));
        for (int r = 0; r < rows; r++) {
            int y = 4 + r * (thumb + 18);
            List<BufferedImage> cells = new ArrayList<>(List.of(queries.get(r)));
            List<String> labels = new ArrayList<>(List.of(names.get(r)));
            for (String role : List.of("easy", "hard", "junk")) {
                for (Entry e : gallery) {
                    if (owners.get(r).equals(e.owner()) && role.equals(e.role())) {
                        cells.add(e.image());
                        labels.add(role);
                    }
                }
            }
            for (int c = 0; c < cells.size(); c++) {
                BufferedImage img = cells.get(c);
                double f = (double) thumb / Math.max(img.getWidth(), img.getHeight());
                int x = 4 + c * (thumb + 4);
                g.drawImage(img, x, y, (int) (img.getWidth() * f), (int) (img.getHeight() * f), null);
                g.setColor(java.awt.Color.BLACK);
                g.drawString(labels.get(c), x, y + thumb + 12);
            }
        }
        g.dispose();
        ImageIO.write(sheet, "png", path.toFile());
    }

    private record Entry(String owner, String role, BufferedImage image, int quality) {}

    /**
     * The bounding box, in the resized second image, of the first image's frame mapped by the ground-truth
     * homography (full-resolution coordinates), clipped to the image.
     */
    static double[] projectedBox(Path homography, Path first, Path second, BufferedImage resized) throws IOException {
        double[] h = readOpenCvMatrix(homography);
        BufferedImage a = ImageIO.read(first.toFile());
        BufferedImage b = ImageIO.read(second.toFile());
        double scale = (double) resized.getWidth() / b.getWidth();
        double[] box = {Double.MAX_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE, -Double.MAX_VALUE};
        for (double[] c : new double[][] {{0, 0}, {a.getWidth(), 0}, {a.getWidth(), a.getHeight()},
            {0, a.getHeight()}}) {
            double w = h[6] * c[0] + h[7] * c[1] + h[8];
            double x = (h[0] * c[0] + h[1] * c[1] + h[2]) / w * scale;
            double y = (h[3] * c[0] + h[4] * c[1] + h[5]) / w * scale;
            box[0] = Math.min(box[0], x);
            box[1] = Math.min(box[1], y);
            box[2] = Math.max(box[2], x);
            box[3] = Math.max(box[3], y);
        }
        return new double[] {Math.max(0, Math.floor(box[0])), Math.max(0, Math.floor(box[1])),
            Math.min(resized.getWidth(), Math.ceil(box[2])), Math.min(resized.getHeight(), Math.ceil(box[3]))};
    }

    /** The nine numbers of a 3x3 "opencv-matrix" in an OpenCV FileStorage XML file. */
    static double[] readOpenCvMatrix(Path xml) throws IOException {
        String text = Files.readString(xml);
        int start = text.indexOf("<data>");
        int end = text.indexOf("</data>");
        if (start < 0 || end < start) {
            throw new IOException(xml + ": no <data> element");
        }
        String[] numbers = text.substring(start + 6, end).trim().split("\\s+");
        if (numbers.length != 9) {
            throw new IOException(xml + ": expected a 3x3 matrix, found " + numbers.length + " numbers");
        }
        double[] m = new double[9];
        for (int i = 0; i < 9; i++) {
            m[i] = Double.parseDouble(numbers[i]);
        }
        return m;
    }

    private static int[] indices(List<Entry> gallery, String owner, String role) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < gallery.size(); i++) {
            if (owner.equals(gallery.get(i).owner()) && role.equals(gallery.get(i).role())) {
                out.add(i);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A seed per (instance, view), so each view is the same whatever else the benchmark holds. */
    private static SplittableRandom random(long seed, int instance, int view) {
        long mixed = seed * 0x9E3779B97F4A7C15L + instance * 0xBF58476D1CE4E5B9L + view * 0x94D049BB133111EBL;
        return new SplittableRandom(mixed);
    }

    private static int quality(ImageViews.Strength s, SplittableRandom rnd) {
        return s.minQuality() + rnd.nextInt(s.maxQuality() - s.minQuality() + 1);
    }

    /** The query's region of interest: a central box over 60 to 85% of each side. */
    private static double[] centralBox(BufferedImage q, SplittableRandom rnd) {
        double fw = ImageViews.uniform(rnd, 0.6, 0.85);
        double fh = ImageViews.uniform(rnd, 0.6, 0.85);
        double w = q.getWidth();
        double h = q.getHeight();
        return new double[] {Math.floor(w * (1 - fw) / 2), Math.floor(h * (1 - fh) / 2),
            Math.ceil(w * (1 + fw) / 2), Math.ceil(h * (1 + fh) / 2)};
    }

    private static <T> void shuffle(List<T> list, SplittableRandom rnd) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }

    static Map<String, Path> findPhotos(Path sources) throws IOException {
        Map<String, Path> photos = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(sources)) {
            for (Path p : files.sorted().toList()) {
                String file = p.getFileName().toString();
                String lower = file.toLowerCase(Locale.ROOT);
                if (Files.isRegularFile(p) && (lower.endsWith(".jpg") || lower.endsWith(".jpeg")
                        || lower.endsWith(".png"))) {
                    photos.putIfAbsent(file.substring(0, file.lastIndexOf('.')), p);
                }
            }
        }
        return photos;
    }

    /** Decodes a photo as RGB, shrunk so its long side is at most maxSize. */
    static BufferedImage load(Path path, int maxSize) {
        try {
            BufferedImage img = ImageIO.read(path.toFile());
            if (img == null) {
                throw new IOException("not a readable image");
            }
            return ImageViews.fit(ImageViews.toRgb(img), maxSize);
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": " + e.getMessage(), e);
        }
    }

    static void writeJpeg(BufferedImage img, int quality, Path path) throws IOException {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("jpeg");
        ImageWriter writer = writers.next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(quality / 100f);
        Files.deleteIfExists(path);
        try (ImageOutputStream stream = ImageIO.createImageOutputStream(path.toFile())) {
            writer.setOutput(stream);
            writer.write(null, new IIOImage(img, null, null), param);
        } finally {
            writer.dispose();
        }
    }

    private static void writeReadme(Path out, Config c, Summary s, List<String> instances, List<Pair> pairs,
                                    List<String> distractors) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("# Instance-level retrieval benchmark\n\n");
        b.append("Generated by `aff make-instances` with seed ").append(c.seed()).append(", views of ")
                .append(c.size()).append(" px on the long side. Revisitop layout: `jpg/` holds the gallery (`g*.jpg`) ")
                .append("and the queries (`q_*.jpg`); `gnd_instances.pkl` / `.json` hold imlist, qimlist and per ")
                .append("query easy / hard / junk gallery indices and the query box. `preview.png` shows the first ")
                .append("queries with their views.\n\n");
        b.append("| | count |\n|---|---|\n");
        b.append("| instances (one query each) | ").append(s.instances()).append(" |\n");
        b.append("| real multi-view pairs (hard queries) | ").append(s.pairs()).append(" |\n");
        b.append("| distractor photos | ").append(s.distractorPhotos()).append(" |\n");
        b.append("| gallery images | ").append(s.galleryImages()).append(" |\n");
        b.append("| queries | ").append(s.queries()).append(" |\n");
        b.append("| easy / hard / junk positives (all queries) | ").append(s.easy()).append(" / ")
                .append(s.hard()).append(" / ").append(s.junk()).append(" |\n");
        b.append("| distractor views | ").append(s.distractors()).append(" |\n\n");
        b.append("Per instance: ").append(c.easyViews()).append(" easy, ").append(c.hardViews()).append(" hard, ")
                .append(c.junkViews()).append(" junk views.\n\n");
        for (ImageViews.Strength st : List.of(ImageViews.EASY, ImageViews.HARD, ImageViews.JUNK)) {
            b.append(String.format(Locale.ROOT, "- %s: %.0f-%.0f%% of the photo's area, rotation up to %.0f deg, "
                            + "corner jitter up to %.0f%%, colour change up to %.0f%%, blur sigma up to %.1f px, "
                            + "noise up to %.0f grey levels, occlusion up to %.0f%%, JPEG quality %d-%d\n",
                    st.name(), 100 * st.minArea(), 100 * st.maxArea(), st.maxRotationDeg(), 100 * st.maxJitter(),
                    100 * st.maxColour(), st.maxBlur(), st.maxNoise(), 100 * st.maxOcclusion(), st.minQuality(),
                    st.maxQuality()));
        }
        b.append("\nInstances: ").append(String.join(", ", instances)).append(".\n");
        b.append("Pairs: ");
        b.append(String.join(", ", pairs.stream().map(p -> p.first() + " -> " + p.second()).toList()));
        b.append(".\nDistractor photos: ").append(String.join(", ", distractors)).append(".\n");
        Files.writeString(out.resolve("README.md"), b.toString());
    }
}
