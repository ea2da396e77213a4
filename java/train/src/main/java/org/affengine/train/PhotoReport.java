package org.affengine.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.affengine.data.AtomicFiles;

/**
 * Writes the photo experiment's outcome: table.md (settings, revisitop easy / medium / hard mAP, costs),
 * results.json and map.png (easy / medium / hard mAP per setting as grouped bars).
 */
public final class PhotoReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Color[] ROLES = {new Color(0x2ca02c), new Color(0x1f77b4), new Color(0xd62728)};

    private PhotoReport() {}

    public static void write(PhotoExperiment.Result r, Path dir) throws IOException {
        AtomicFiles.write(dir, "table.md", markdown(r).getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(dir, "results.json", JSON.writeValueAsBytes(r));
        AtomicFiles.write(dir, "map.png", chart(r));
    }

    public static String markdown(PhotoExperiment.Result r) {
        PhotoExperiment.Settings s = r.settings();
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "AFF on photographs: trained on %,d Tux Paint stamps x %d views "
                        + "(instance discrimination), scored on the instance benchmark (%d queries, %d gallery "
                        + "images); %d steps of %d per setting, lr %s, alpha %s, mixer d=%d C=%d heads=%d ffn=%d, "
                        + "whitening to %d, head width %d, SIFT %d per image, learned local model %d per image "
                        + "(%d-d, attention width %d, %d steps, %s)%s, seed %d; %s; describing %.0f s, %.0f s in "
                        + "all.%n%n",
                r.trainInstances(), s.views(), r.queries(), r.galleryImages(), s.steps(), s.batch(), s.lr(),
                s.alpha(), s.dim(), s.layers(), s.heads(), s.ffn(), s.whitenDim(), s.headWidth(), s.maxLocal(),
                s.attentionKeep(), s.attentionDim(), s.attentionHidden(), s.attentionSteps(),
                s.localPoolEvery() > 0 ? String.format(Locale.ROOT, "trained on its own %,d stamps", r.localInstances())
                        : "trained on the same stamps", s.localDropout() > 0 ? String.format(Locale.ROOT,
                        ", local dropout %s in the fused settings", s.localDropout()) : ", no local dropout",
                s.seed(), trunk(s),
                r.describeSeconds(), r.seconds()));
        b.append(String.format(Locale.ROOT, "CPU per image at batch 1 on this machine: query model %.1f ms, gallery "
                + "side %.1f ms (%.1fx).%n%n", r.queryMsPerImage(), r.galleryMsPerImage(),
                r.galleryMsPerImage() / r.queryMsPerImage()));
        b.append("| setting | query side | gallery side | easy mAP | medium mAP | hard mAP | medium mP@10 "
                + "| query GMACs | gallery GMACs | train s |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for (PhotoExperiment.Row row : r.rows()) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %s | %s | %.0f |%n",
                    row.setting(), row.query(), row.gallery(), row.easy(), row.medium(), row.hard(),
                    row.mediumMp10(), gmacs(row.queryMacs()), gmacs(row.galleryMacs()), row.trainSeconds()));
        }
        b.append("\n(GMACs count the networks; SIFT's cost is in the measured milliseconds above, not in GMACs.)\n");
        return b.toString();
    }

    private static String trunk(PhotoExperiment.Settings s) {
        return s.trunkCut().equals(PhotoDescriber.MOBILENET_LAYER)
                ? "query MobileNetV2 frozen up to " + s.trunkCut() + " (only the head trains)"
                : "query MobileNetV2 frozen up to " + s.trunkCut() + ", fine-tuned after it to "
                        + PhotoDescriber.MOBILENET_LAYER + " (step " + s.tunedStep() + ")";
    }

    private static String gmacs(long macs) {
        return macs == 0 ? "-" : String.format(Locale.ROOT, "%.3f", macs / 1e9);
    }

    static byte[] chart(PhotoExperiment.Result r) throws IOException {
        int rowH = 42;
        int labelW = 330;
        int w = 1000;
        int h = 60 + rowH * r.rows().size();
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        String[] roles = {"easy", "medium", "hard"};
        g.setColor(Color.BLACK);
        g.drawString("revisitop mAP (%) on the instance benchmark, per setting", 10, 20);
        for (int k = 0; k < 3; k++) {
            g.setColor(ROLES[k]);
            g.fillRect(w - 260 + k * 80, 10, 12, 12);
            g.setColor(Color.BLACK);
            g.drawString(roles[k], w - 244 + k * 80, 21);
        }
        int barMax = w - labelW - 60;
        for (int i = 0; i < r.rows().size(); i++) {
            PhotoExperiment.Row row = r.rows().get(i);
            int y = 40 + i * rowH;
            g.setColor(Color.BLACK);
            g.drawString(row.id(), 10, y + rowH / 2 + 4);
            double[] v = {row.easy(), row.medium(), row.hard()};
            for (int k = 0; k < 3; k++) {
                int len = (int) Math.round(barMax * Math.max(0, Math.min(100, v[k])) / 100);
                g.setColor(ROLES[k]);
                g.fillRect(labelW, y + 4 + k * 12, len, 10);
                g.setColor(Color.DARK_GRAY);
                g.drawString(String.format(Locale.ROOT, "%.1f", v[k]), labelW + len + 4, y + 13 + k * 12);
            }
        }
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }
}
