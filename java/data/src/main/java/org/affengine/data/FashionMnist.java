package org.affengine.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Fashion-MNIST (Zalando): 28x28 grey photos of clothing in 10 classes, 60,000 for training and 10,000 for testing,
 * read from the IDX files that Debian's {@code dataset-fashion-mnist} package installs.
 */
public final class FashionMnist implements Dataset {
    /** Where Debian's dataset-fashion-mnist puts the files. */
    public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");

    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private final Split split;
    private final int count;
    private final int rows;
    private final int cols;
    private final byte[] pixels;
    private final byte[] labels;

    private FashionMnist(Split split, Idx.Array images, Idx.Array labels, Path dir) throws IOException {
        if (images.shape().length != 3 || labels.shape().length != 1) {
            throw new IOException(dir + ": expected images [n, rows, cols] and labels [n], got " + images + " and "
                    + labels);
        }
        if (images.count() != labels.count()) {
            throw new IOException(dir + ": " + images.count() + " images but " + labels.count() + " labels");
        }
        for (byte l : labels.data()) {
            if ((l & 0xff) >= CLASS_NAMES.size()) {
                throw new IOException(dir + ": label " + (l & 0xff) + " is not a Fashion-MNIST class");
            }
        }
        this.split = split;
        this.count = images.count();
        this.rows = images.shape()[1];
        this.cols = images.shape()[2];
        this.pixels = images.data();
        this.labels = labels.data();
    }

    /** Reads one split from a folder holding the four standard files (gzip-compressed or not). */
    public static FashionMnist load(Path dir, Split split) throws IOException {
        String prefix = split == Split.TRAIN ? "train" : "t10k";
        Idx.Array images = Idx.read(find(dir, prefix + "-images-idx3-ubyte"));
        Idx.Array labels = Idx.read(find(dir, prefix + "-labels-idx1-ubyte"));
        return new FashionMnist(split, images, labels, dir);
    }

    /** Reads one split from Debian's package; a clear error names the package when it is missing. */
    public static FashionMnist load(Split split) throws IOException {
        if (!Files.isDirectory(DEBIAN_DIR)) {
            throw new IOException("Fashion-MNIST not found in " + DEBIAN_DIR
                    + ": install the Debian package dataset-fashion-mnist");
        }
        return load(DEBIAN_DIR, split);
    }

    private static Path find(Path dir, String base) throws IOException {
        for (String name : List.of(base + ".gz", base)) {
            if (Files.isRegularFile(dir.resolve(name))) {
                return dir.resolve(name);
            }
        }
        throw new IOException(dir + ": no " + base + "[.gz]");
    }

    @Override
    public String name() {
        return "fashion-mnist";
    }

    @Override
    public Split split() {
        return split;
    }

    @Override
    public int size() {
        return count;
    }

    @Override
    public int classes() {
        return CLASS_NAMES.size();
    }

    @Override
    public LabelledImage get(int index) {
        if (index < 0 || index >= count) {
            throw new IndexOutOfBoundsException("index " + index + " outside [0, " + count + ")");
        }
        int n = rows * cols;
        byte[] image = new byte[n];
        System.arraycopy(pixels, index * n, image, 0, n);
        String id = (split == Split.TRAIN ? "train-" : "test-") + index;
        return new LabelledImage(id, labels[index] & 0xff, new RawImage(cols, rows, 1, image));
    }
}
