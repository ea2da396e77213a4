package org.affengine.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;
import org.affengine.data.AtomicFiles;

/**
 * Writes an experiment's outcome: table.md (the table and the claims), results.json (everything, curves included),
 * curves.png (query-side loss and accuracy per training step for every trained setting, and mAP per setting) and
 * report.html (the table and the picture in one page).
 */
public final class ExperimentReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
        new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
        new Color(0xbcbd22), new Color(0x17becf)};

    private ExperimentReport() {}

    public static void write(AffExperiment.Result r, Path dir) throws IOException {
        byte[] png = curves(r);
        AtomicFiles.write(dir, "table.md", markdown(r).getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(dir, "results.json", JSON.writeValueAsBytes(r));
        AtomicFiles.write(dir, "curves.png", png);
        AtomicFiles.write(dir, "report.html", html(r, png).getBytes(StandardCharsets.UTF_8));
    }

    public static String markdown(AffExperiment.Result r) {
        StringBuilder b = new StringBuilder();
        AffExperiment.Settings s = r.settings();
        b.append(String.format(Locale.ROOT, "AFF experiment on %s: %,d training images, %,d test images (each a query "
                        + "against the other test images); %d steps of %d per setting, lr %s, alpha %s, mixer d=%d "
                        + "C=%d heads=%d ffn=%d, ArcFace s=%s m=%s, seed %d; %s in all.%n%n", r.dataset(),
                r.trainImages(), r.testImages(), s.steps(), s.batch(), s.lr(), s.alpha(), s.dim(), s.layers(),
                s.heads(), s.ffn(), s.scale(), s.margin(), s.seed(), seconds(r.seconds())));
        b.append("| setting | query side | gallery side | mAP@all | mAP@R | mP@10 | query MMACs | query params "
                + "| gallery MMACs | gallery params | train s |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (AffExperiment.Row row : r.rows()) {
            b.append(String.format(Locale.ROOT,
                    "| %s | %s | %s | %.4f | %.4f | %.4f | %.2f | %,d | %.2f | %,d | %.0f |%n", row.setting(),
                    row.query(), row.gallery(), row.mapAll(), row.mapAtR(), row.mpAt10(),
                    row.queryMacs() / 1e6, row.queryParams(), row.galleryMacs() / 1e6, row.galleryParams(),
                    row.trainSeconds()));
        }
        b.append("\n| claim (paper) | this run | mAP@all |\n|---|---|---|\n");
        for (AffExperiment.Claim c : r.claims()) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s %.4f vs %s %.4f |%n", c.claim(),
                    c.holds() ? "holds" : "does not hold", c.better(), c.betterMap(), c.worse(), c.worseMap()));
        }
        return b.toString();
    }

    static String html(AffExperiment.Result r, byte[] png) {
        StringBuilder b = new StringBuilder("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>AFF "
                + "experiment</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                + "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child"
                + "{text-align:left}</style></head><body>\n<h1>AFF experiment</h1>\n");
        List<String> lines = markdown(r).lines().toList();
        b.append("<p>").append(escape(lines.get(0))).append("</p>\n");
        boolean inTable = false;
        for (String line : lines.subList(1, lines.size())) {
            if (!line.startsWith("|")) {
                if (inTable) {
                    b.append("</table>\n");
                }
                inTable = false;
                continue;
            }
            if (line.startsWith("|---")) {
                continue;
            }
            String cell = inTable ? "td" : "th";
            if (!inTable) {
                b.append("<table>\n");
            }
            inTable = true;
            b.append("<tr>");
            String[] cells = line.substring(1, line.length() - 1).split("\\|");
            for (String c : cells) {
                b.append('<').append(cell).append('>').append(escape(c.trim())).append("</").append(cell).append('>');
            }
            b.append("</tr>\n");
        }
        if (inTable) {
            b.append("</table>\n");
        }
        b.append("<h2>Training curves and mAP</h2>\n<img alt=\"training curves\" src=\"data:image/png;base64,")
                .append(Base64.getEncoder().encodeToString(png)).append("\">\n</body></html>\n");
        return b.toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /** Three panels: query loss and query accuracy against the step, and mAP@all per setting. */
    static byte[] curves(AffExperiment.Result r) throws IOException {
        int w = 1500;
        int h = 560;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        List<AffExperiment.Row> trained = r.rows().stream().filter(x -> !x.curve().isEmpty()).toList();
        panel(g, 60, 40, 420, 380, "query ArcFace loss", trained, AffTrainer.Point::queryLoss);
        panel(g, 560, 40, 420, 380, "query training accuracy", trained, AffTrainer.Point::queryAccuracy);
        for (int i = 0; i < trained.size(); i++) {
            g.setColor(PALETTE[i % PALETTE.length]);
            g.fillRect(60 + (i % 3) * 300, 470 + (i / 3) * 18, 12, 12);
            g.setColor(Color.BLACK);
            g.drawString(trained.get(i).id(), 78 + (i % 3) * 300, 481 + (i / 3) * 18);
        }
        bars(g, 1060, 40, 400, 480, r.rows());
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private static void panel(Graphics2D g, int x0, int y0, int w, int h, String title, List<AffExperiment.Row> rows,
                              ToDoubleFunction<AffTrainer.Point> value) {
        double maxStep = 1;
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (AffExperiment.Row row : rows) {
            for (AffTrainer.Point p : row.curve()) {
                double v = value.applyAsDouble(p);
                maxStep = Math.max(maxStep, p.step());
                if (!Double.isNaN(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (!(hi > lo)) {
            lo = 0;
            hi = 1;
        }
        g.setColor(Color.BLACK);
        g.drawString(title, x0, y0 - 10);
        g.drawRect(x0, y0, w, h);
        for (int t = 0; t <= 4; t++) {
            double v = lo + (hi - lo) * t / 4;
            int y = y0 + h - (int) (h * t / 4.0);
            g.drawString(String.format(Locale.ROOT, "%.2f", v), x0 - 45, y + 4);
            g.drawString(String.format(Locale.ROOT, "%.0f", maxStep * t / 4), x0 + (int) (w * t / 4.0) - 10,
                    y0 + h + 16);
        }
        g.setStroke(new BasicStroke(2f));
        for (int i = 0; i < rows.size(); i++) {
            g.setColor(PALETTE[i % PALETTE.length]);
            int px = -1;
            int py = -1;
            for (AffTrainer.Point p : rows.get(i).curve()) {
                double v = value.applyAsDouble(p);
                if (Double.isNaN(v)) {
                    px = -1;
                    continue;
                }
                int x = x0 + (int) (w * p.step() / maxStep);
                int y = y0 + h - (int) (h * (v - lo) / (hi - lo));
                if (px >= 0) {
                    g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static void bars(Graphics2D g, int x0, int y0, int w, int h, List<AffExperiment.Row> rows) {
        g.setColor(Color.BLACK);
        g.drawString("test mAP@all per setting", x0, y0 - 10);
        int rowH = Math.max(12, h / Math.max(1, rows.size()));
        int labelW = 150;
        for (int i = 0; i < rows.size(); i++) {
            AffExperiment.Row row = rows.get(i);
            int y = y0 + i * rowH;
            g.setColor(row.id().equals("aff") ? new Color(0xd62728) : new Color(0x1f77b4));
            int len = (int) ((w - labelW - 50) * Math.max(0, row.mapAll()));
            g.fillRect(x0 + labelW, y + 3, len, rowH - 8);
            g.setColor(Color.BLACK);
            g.drawString(row.id(), x0, y + rowH / 2 + 4);
            g.drawString(String.format(Locale.ROOT, "%.3f", row.mapAll()), x0 + labelW + len + 4, y + rowH / 2 + 4);
        }
    }

    private static String seconds(double s) {
        return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", (long) s / 60, (long) s % 60)
                : String.format(Locale.ROOT, "%.0fs", s);
    }
}
