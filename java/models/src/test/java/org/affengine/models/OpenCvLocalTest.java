package org.affengine.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Random;
import org.affengine.data.Features;
import org.affengine.data.RawImage;
import org.junit.jupiter.api.Test;

class OpenCvLocalTest {
    static BufferedImage scene(Random random, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        for (int i = 0; i < 60; i++) {
            g.setColor(new Color(random.nextInt(1 << 24)));
            int x = random.nextInt(w);
            int y = random.nextInt(h);
            if (i % 3 == 0) {
                g.fillOval(x, y, 5 + random.nextInt(40), 5 + random.nextInt(40));
            } else if (i % 3 == 1) {
                g.fillRect(x, y, 5 + random.nextInt(50), 5 + random.nextInt(30));
            } else {
                g.drawLine(x, y, random.nextInt(w), random.nextInt(h));
            }
        }
        g.dispose();
        return img;
    }

    static RawImage raw(BufferedImage img) {
        byte[] px = new byte[img.getWidth() * img.getHeight() * 3];
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int p = img.getRGB(x, y);
                int i = (y * img.getWidth() + x) * 3;
                px[i] = (byte) (p >> 16);
                px[i + 1] = (byte) (p >> 8);
                px[i + 2] = (byte) p;
            }
        }
        return new RawImage(img.getWidth(), img.getHeight(), 3, px);
    }

    /** A rotated, scaled view is found by voting among unrelated scenes, with both descriptors. */
    @Test
    void viewsOfTheSameSceneWinTheVote() {
        Random random = new Random();
        BufferedImage target = scene(random, 320, 240);
        BufferedImage view = new BufferedImage(300, 260, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = view.createGraphics();
        g.setRenderingHint(java.awt.RenderingHints.KEY_INTERPOLATION,
                java.awt.RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setColor(Color.GRAY);
        g.fillRect(0, 0, 300, 260);
        g.rotate(Math.toRadians(15), 150, 130);
        g.drawImage(target, 20, 10, 288, 216, null);
        g.dispose();
        for (OpenCvLocal.Kind kind : OpenCvLocal.Kind.values()) {
            OpenCvLocal model = new OpenCvLocal(kind, 300);
            List<Features.LocalSet> gallery = List.of(model.extract(raw(scene(random, 320, 240))),
                    model.extract(raw(target)), model.extract(raw(scene(random, 320, 240))));
            Features.LocalSet query = model.extract(raw(view));
            assertTrue(query.count() > 50, kind + ": " + query.count() + " keypoints");
            assertTrue(query.count() <= 300);
            for (int r = 0; r < query.count(); r++) {
                double norm = 0;
                for (int c = 0; c < model.dim(); c++) {
                    norm += query.rows()[r * model.dim() + c] * query.rows()[r * model.dim() + c];
                }
                assertEquals(1.0, norm, 1e-3, kind.name());
            }
            int[][] ranks = LocalVoting.rank(List.of(query), gallery, model.dim(), 0.85);
            assertEquals(1, ranks[0][0], kind + " ranks the true scene first");
            // A flat image and a 28x28 thumbnail have no keypoints: empty sets, no crash, still ranked.
            BufferedImage flat = new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB);
            assertEquals(0, model.extract(raw(flat)).count());
            Features.LocalSet none = model.extract(raw(new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB)));
            assertEquals(0, none.count());
            assertEquals(3, LocalVoting.rank(List.of(none), gallery, model.dim(), 0.85)[0].length);
        }
    }
}
