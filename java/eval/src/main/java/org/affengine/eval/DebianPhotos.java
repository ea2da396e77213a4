package org.affengine.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.affengine.io.Directories;

/**
 * The real photographs the instance benchmark is built from, taken from Debian packages: each package is fetched
 * with {@code apt-get download} and unpacked with {@code dpkg-deb -x} into a cache folder (nothing is installed
 * system-wide), and the photos listed here, plus one image of every KDE wallpaper (distractors), are copied to
 * {@code <cache>/photos}.
 */
public final class DebianPhotos {
    private DebianPhotos() {}

    /** Package -> folder inside it -> photo files. */
    static final Map<String, Map.Entry<String, List<String>>> CATALOGUE = Map.of(
            "python3-skimage", Map.entry("usr/lib/python3/dist-packages/skimage/data", List.of("astronaut.png",
                    "camera.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg",
                    "moon.png", "coins.png", "ihc.png", "motorcycle_left.png", "motorcycle_right.png", "brick.png",
                    "grass.png", "gravel.png")),
            "python3-sklearn", Map.entry("usr/lib/python3/dist-packages/sklearn/datasets/images",
                    List.of("china.jpg", "flower.jpg")),
            "python-matplotlib-data", Map.entry("usr/share/matplotlib/mpl-data/sample_data",
                    List.of("grace_hopper.jpg")),
            "opencv-doc", Map.entry("usr/share/doc/opencv-doc/examples/data", List.of("baboon.jpg", "building.jpg",
                    "butterfly.jpg", "fruits.jpg", "home.jpg", "messi5.jpg", "orange.jpg", "apple.jpg",
                    "chicky_512.png", "board.jpg", "graf1.png", "graf3.png", "H1to3p.xml", "leuvenA.jpg", "leuvenB.jpg", "aero1.jpg",
                    "aero3.jpg", "box.png", "box_in_scene.png", "basketball1.png", "basketball2.png", "aloeL.jpg",
                    "aloeR.jpg")));

    /** Real viewpoint pairs among the photos: the second is queried, the first is its hard positive. */
    public static final List<InstanceBenchmark.Pair> PAIRS = List.of(
            new InstanceBenchmark.Pair("graf1", "graf3", "H1to3p.xml"),
            new InstanceBenchmark.Pair("leuvenA", "leuvenB"), new InstanceBenchmark.Pair("aero1", "aero3"),
            new InstanceBenchmark.Pair("box", "box_in_scene"), new InstanceBenchmark.Pair("basketball1",
                    "basketball2"), new InstanceBenchmark.Pair("aloeL", "aloeR"),
            new InstanceBenchmark.Pair("motorcycle_left", "motorcycle_right"));

    /** Texture photos that only fill the gallery; every KDE wallpaper does too (see {@link #distractors}). */
    static final List<String> TEXTURES = List.of("brick", "grass", "gravel");

    /** Wallpapers (photos and artwork): one image per wallpaper, the largest file, as distractors. */
    static final String WALLPAPERS = "plasma-workspace-wallpapers";
    static final String WALLPAPER_PREFIX = "wallpaper_";

    /** The distractor photos among those fetched: the textures and every wallpaper. */
    public static List<String> distractors(Path photos) throws IOException {
        List<String> out = new java.util.ArrayList<>(TEXTURES);
        try (Stream<Path> s = Files.list(photos)) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(WALLPAPER_PREFIX)).sorted()
                    .forEach(n -> out.add(n.substring(0, n.lastIndexOf('.'))));
        }
        return out;
    }

    /** Fetches what is missing and returns the folder of photos. */
    public static Path fetch(Path cacheDir) throws IOException {
        Path cache = cacheDir.toAbsolutePath();
        Path debs = cache.resolve("debs");
        Path root = cache.resolve("root");
        Path photos = cache.resolve("photos");
        Files.createDirectories(debs);
        Files.createDirectories(photos);
        for (Map.Entry<String, Map.Entry<String, List<String>>> pkg : CATALOGUE.entrySet()) {
            List<String> files = pkg.getValue().getValue();
            if (files.stream().allMatch(f -> Files.exists(photos.resolve(f)))) {
                continue;
            }
            Path deb = findDeb(debs, pkg.getKey());
            if (deb == null) {
                run(debs, "apt-get", "download", pkg.getKey());
                deb = findDeb(debs, pkg.getKey());
                if (deb == null) {
                    throw new IOException("apt-get download " + pkg.getKey() + " left no .deb in " + debs);
                }
            }
            run(cache, "dpkg-deb", "-x", deb.toString(), root.toString());
            for (String f : files) {
                Path src = root.resolve(pkg.getValue().getKey()).resolve(f);
                if (!Files.exists(src)) {
                    throw new IOException(pkg.getKey() + " has no " + pkg.getValue().getKey() + "/" + f);
                }
                Files.copy(src, photos.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            // Keep only the photos: the unpacked package and the .deb are large (opencv-doc: ~370 MiB together).
            Directories.deleteTree(root);
            Files.delete(deb);
        }
        fetchWallpapers(cache, debs, root, photos);
        return photos;
    }

    private static void fetchWallpapers(Path cache, Path debs, Path root, Path photos) throws IOException {
        try (Stream<Path> s = Files.list(photos)) {
            if (s.anyMatch(p -> p.getFileName().toString().startsWith(WALLPAPER_PREFIX))) {
                return;
            }
        }
        run(debs, "apt-get", "download", WALLPAPERS);
        Path deb = findDeb(debs, WALLPAPERS);
        if (deb == null) {
            throw new IOException("apt-get download " + WALLPAPERS + " left no .deb in " + debs);
        }
        run(cache, "dpkg-deb", "-x", deb.toString(), root.toString());
        Path walls = root.resolve("usr/share/wallpapers");
        try (Stream<Path> dirs = Files.list(walls)) {
            for (Path wall : dirs.sorted().toList()) {
                Path images = wall.resolve("contents/images");
                if (!Files.isDirectory(images)) {
                    continue;
                }
                Path largest = null;
                try (Stream<Path> files = Files.list(images)) {
                    for (Path f : files.sorted().toList()) {
                        String n = f.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
                        if (Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                                && (n.endsWith(".jpg") || n.endsWith(".png"))
                                && (largest == null || Files.size(f) > Files.size(largest))) {
                            largest = f;
                        }
                    }
                }
                if (largest != null) {
                    String n = largest.getFileName().toString();
                    Files.copy(largest, photos.resolve(WALLPAPER_PREFIX + wall.getFileName() + n.substring(
                            n.lastIndexOf('.'))), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Directories.deleteTree(root);
        Files.delete(deb);
    }

    static Path findDeb(Path debs, String pkg) throws IOException {
        try (Stream<Path> s = Files.list(debs)) {
            return s.filter(p -> p.getFileName().toString().startsWith(pkg + "_")
                    && p.getFileName().toString().endsWith(".deb")).findFirst().orElse(null);
        }
    }

    static void run(Path dir, String... command) throws IOException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed" + (output.contains("Unable to locate")
                        ? " (run apt-get update first)" : "") + ": " + output.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
    }
}
