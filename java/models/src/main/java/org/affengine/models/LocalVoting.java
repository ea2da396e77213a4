package org.affengine.models;

import java.util.Arrays;
import java.util.List;
import org.affengine.data.Features;
import org.affengine.index.ExactIndex;
import org.affengine.index.Metric;
import org.affengine.index.SearchResult;

/**
 * Retrieval with local descriptors by voting: every gallery descriptor goes into one exact index; each query
 * descriptor finds its two nearest and, when the nearest is clearly closer (Lowe's ratio test on distances),
 * votes for the image it belongs to. Images are ranked by votes (then by index).
 */
public final class LocalVoting {
    private LocalVoting() {}

    public static int[][] rank(List<Features.LocalSet> queries, List<Features.LocalSet> gallery, int dim,
                               double ratio) {
        int total = gallery.stream().mapToInt(Features.LocalSet::count).sum();
        int[] imageOf = new int[total];
        float[] rows = new float[total * dim];
        long[] ids = new long[total];
        int at = 0;
        for (int g = 0; g < gallery.size(); g++) {
            Features.LocalSet l = gallery.get(g);
            System.arraycopy(l.rows(), 0, rows, at * dim, l.count() * dim);
            for (int r = 0; r < l.count(); r++) {
                imageOf[at] = g;
                ids[at] = at;
                at++;
            }
        }
        int[][] rankings = new int[queries.size()][];
        try (ExactIndex index = new ExactIndex(dim, Metric.L2)) {
            if (total > 0) {
                index.add(rows, ids);
            }
            for (int q = 0; q < queries.size(); q++) {
                int[] votes = new int[gallery.size()];
                Features.LocalSet l = queries.get(q);
                if (l.count() > 0 && total >= 2) {
                    for (SearchResult r : index.searchBatch(l.rows(), 2)) {
                        // Squared distances: nearest < ratio^2 * second nearest.
                        if (r.scores()[0] < ratio * ratio * r.scores()[1]) {
                            votes[imageOf[(int) r.ids()[0]]]++;
                        }
                    }
                }
                Integer[] order = new Integer[gallery.size()];
                for (int g = 0; g < order.length; g++) {
                    order[g] = g;
                }
                Arrays.sort(order, (a, b) -> votes[a] != votes[b] ? Integer.compare(votes[b], votes[a])
                        : Integer.compare(a, b));
                rankings[q] = Arrays.stream(order).mapToInt(Integer::intValue).toArray();
            }
        }
        return rankings;
    }
}
