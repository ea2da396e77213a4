package org.affengine.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A folder of images with a CSV of {@code id,label} (the GLDv2 {@code train.csv} convention; a header names the
 * columns, others are ignored). Images are found as {@code <root>/a/b/c/<id>.jpg} (GLDv2's layout: the first three
 * characters of the id) or flat as {@code <root>/<id>.<jpg|jpeg|png|webp|bmp>}. Labels may be any strings; they
 * are numbered in order of first appearance. Images are decoded on access, so the dataset costs memory only for
 * its index.
 */
public final class FolderDataset implements Dataset {
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".webp", ".bmp");

    private final String name;
    private final Split split;
    private final Path root;
    private final List<String> ids;
    private final int[] labels;
    private final List<String> labelNames;
    private final ImageCodec codec;

    private FolderDataset(String name, Split split, Path root, List<String> ids, int[] labels, List<String> labelNames,
                          ImageCodec codec) {
        this.name = name;
        this.split = split;
        this.root = root;
        this.ids = ids;
        this.labels = labels;
        this.labelNames = labelNames;
        this.codec = codec;
    }

    /** Reads the CSV; every listed image must exist (checked now, so a missing file fails early, by name). */
    public static FolderDataset open(Path root, Path csv, Split split, ImageCodec codec) throws IOException {
        List<String> ids = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        Map<String, Integer> labelIds = new LinkedHashMap<>();
        try (BufferedReader in = Files.newBufferedReader(csv)) {
            String header = in.readLine();
            if (header == null) {
                throw new IOException(csv + ": empty file");
            }
            List<String> columns = Arrays.stream(header.split(",", -1)).map(String::strip).toList();
            int idAt = columns.indexOf("id");
            int labelAt = columns.indexOf("landmark_id") >= 0 ? columns.indexOf("landmark_id")
                    : columns.indexOf("label");
            if (idAt < 0 || labelAt < 0) {
                throw new IOException(csv + ": header " + columns + " lacks 'id' and 'label' (or 'landmark_id')");
            }
            String line;
            int number = 1;
            while ((line = in.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.split(",", -1);
                if (f.length < columns.size()) {
                    throw new IOException(csv + ":" + number + ": " + f.length + " fields, header has "
                            + columns.size());
                }
                String id = f[idAt].strip();
                if (id.isEmpty() || id.contains("/") || id.contains("\\") || id.startsWith(".")) {
                    throw new IOException(csv + ":" + number + ": bad image id '" + id + "'");
                }
                ids.add(id);
                labels.add(labelIds.computeIfAbsent(f[labelAt].strip(), k -> labelIds.size()));
            }
        }
        FolderDataset d = new FolderDataset(root.getFileName().toString(), split, root, List.copyOf(ids),
                labels.stream().mapToInt(Integer::intValue).toArray(), List.copyOf(labelIds.keySet()), codec);
        for (String id : ids) {
            d.pathOf(id);
        }
        return d;
    }

    Path pathOf(String id) throws IOException {
        List<Path> candidates = new ArrayList<>();
        for (String ext : EXTENSIONS) {
            if (id.length() >= 3) {
                candidates.add(root.resolve(id.substring(0, 1)).resolve(id.substring(1, 2))
                        .resolve(id.substring(2, 3)).resolve(id + ext));
            }
            candidates.add(root.resolve(id + ext));
        }
        for (Path p : candidates) {
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new IOException(root + ": no image for id '" + id + "' (looked for a/b/c/" + id + ".jpg and flat "
                + id + ".jpg/.png/...)");
    }

    public List<String> labelNames() {
        return labelNames;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Split split() {
        return split;
    }

    @Override
    public int size() {
        return ids.size();
    }

    @Override
    public int classes() {
        return labelNames.size();
    }

    /** Decodes the image; a file that went missing or is corrupt surfaces as UncheckedIOException naming it. */
    @Override
    public LabelledImage get(int index) {
        String id = ids.get(index);
        try {
            Path p = pathOf(id);
            return new LabelledImage(id, labels[index], codec.decode(Files.readAllBytes(p), true));
        } catch (IOException e) {
            throw new UncheckedIOException(id + ": " + e.getMessage(), e);
        }
    }
}
