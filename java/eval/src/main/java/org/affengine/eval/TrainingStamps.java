package org.affengine.eval;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.affengine.io.Directories;

/**
 * A pool of real object images for training, disjoint from the instance benchmark's photos: the Tux Paint stamps
 * (Debian {@code tuxpaint-stamps-default}, GPL-2: PNG cut-outs of animals, food, vehicles, plants, buildings...,
 * many of them photographs). Symbols (letters, shapes, flags of notation) are left out. Each stamp is one instance;
 * its transparent background is filled with a flat colour drawn per view.
 */
public final class TrainingStamps {
    static final String PACKAGE = "tuxpaint-stamps-default";
    static final String ROOT = "usr/share/tuxpaint/stamps";

    private TrainingStamps() {}

    /** Fetches the package when its stamps are missing and returns them, sorted by path (stable order). */
    public static List<Path> fetch(Path cacheDir) throws IOException {
        Path cache = cacheDir.toAbsolutePath();
        Path stamps = cache.resolve("stamps");
        if (!Files.isDirectory(stamps)) {
            Path debs = cache.resolve("debs");
            Path root = cache.resolve("root");
            Files.createDirectories(debs);
            Path deb = DebianPhotos.findDeb(debs, PACKAGE);
            if (deb == null) {
                DebianPhotos.run(debs, "apt-get", "download", PACKAGE);
                deb = DebianPhotos.findDeb(debs, PACKAGE);
                if (deb == null) {
                    throw new IOException("apt-get download " + PACKAGE + " left no .deb in " + debs);
                }
            }
            DebianPhotos.run(cache, "dpkg-deb", "-x", deb.toString(), root.toString());
            Path tmp = cache.resolve("stamps.tmp");
            Directories.deleteTree(tmp);
            Path src = root.resolve(ROOT);
            try (Stream<Path> s = Files.walk(src)) {
                for (Path f : s.filter(TrainingStamps::isStamp).toList()) {
                    Path rel = src.relativize(f);
                    Path dst = tmp.resolve(rel.toString().replace('/', '_'));
                    Files.createDirectories(dst.getParent());
                    Files.copy(f, dst, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.move(tmp, stamps, StandardCopyOption.ATOMIC_MOVE);  // complete or absent
            Directories.deleteTree(root);
            Files.delete(deb);
        }
        try (Stream<Path> s = Files.list(stamps)) {
            return s.sorted().toList();
        }
    }

    private static boolean isStamp(Path p) {
        String rel = p.toString();
        return rel.endsWith(".png") && !rel.contains("/" + ROOT + "/symbols/") && Files.isRegularFile(p);
    }

    /** The stamp drawn over a flat background colour (its transparent parts filled), as RGB. */
    static BufferedImage onBackground(BufferedImage stamp, int rgb) {
        int w = stamp.getWidth();
        int h = stamp.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int br = (rgb >> 16) & 0xff;
        int bg = (rgb >> 8) & 0xff;
        int bb = rgb & 0xff;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = stamp.getRGB(x, y);
                double a = ((p >>> 24) & 0xff) / 255.0;
                int r = (int) Math.round(a * ((p >> 16) & 0xff) + (1 - a) * br);
                int g = (int) Math.round(a * ((p >> 8) & 0xff) + (1 - a) * bg);
                int b = (int) Math.round(a * (p & 0xff) + (1 - a) * bb);
                out.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return out;
    }

    /**
     * A training view for instance discrimination: the benchmark's easy or hard transform (crop, rotation,
     * perspective, colour, blur, noise, occlusion) of the stamp over the background colour, about outSize pixels
     * on its long side.
     */
    public static BufferedImage view(BufferedImage stamp, int background, boolean hard, int outSize, long seed) {
        return ImageViews.view(onBackground(stamp, background), hard ? ImageViews.HARD : ImageViews.EASY, outSize,
                new java.util.SplittableRandom(seed));
    }

    /** Reads a stamp; an unreadable file is an error naming it. */
    public static BufferedImage read(Path file) throws IOException {
        BufferedImage img = ImageIO.read(file.toFile());
        if (img == null) {
            throw new IOException("not an image: " + file);
        }
        return img;
    }
}
