package org.affengine.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.affengine.data.ImageCodec;
import org.affengine.data.RawImage;
import org.affengine.train.AffModel;
import org.affengine.train.UntrainedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's Java API example, as written there (with an untrained model in place of the trained bundle). */
class ReadmeExampleTest {
    @TempDir
    Path dir;

    @Test
    void readmeExampleRuns() throws Exception {
        UntrainedModel.write(dir, 32, 1);
        Path photo = dir.resolve("photo.png");
        Files.write(photo, Retriever.thumbnailPng(TinyModel.image(new java.util.Random(1))));
        RawImage queryImage = TinyModel.image(new java.util.Random(2));
        Path bundleDir = dir.resolve("bundle");
        Path weightsDir = dir.resolve("models");
        Path galleryDir = dir.resolve("my-gallery");

        // --- README ---
        AffModel model = AffModel.load(bundleDir, weightsDir);     // gallery models + mixer + query model
        try (Retriever gallery = Retriever.open(model, galleryDir)) {   // replays its log: nothing acknowledged is lost
            RawImage image = new ImageCodec().decode(Files.readAllBytes(photo), false);
            gallery.put("shoe-17", image, Map.of("label", "Sneaker"));   // gallery models -> mixer -> index, fsynced
            List<Retriever.Hit> hits = gallery.searchImage(queryImage, 10);  // query model here ...
            float[] q = model.queryVectors(List.of(queryImage))[0];          // ... or on the device: send only q
            hits = gallery.search(q, 10);
            gallery.remove("shoe-17");
            gallery.snapshot();
            // --- end ---
            assertEquals(1, hits.size());
            assertEquals("shoe-17", hits.get(0).id());
            assertEquals(0, gallery.size());
        }
    }
}
