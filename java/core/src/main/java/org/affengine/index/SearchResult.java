package org.affengine.index;

import java.util.Arrays;

/**
 * The k best matches of one query, best first. {@code scores[i]} is the inner product or the squared L2 distance of
 * {@code ids[i]}. An approximate index that finds fewer than k rows pads with id -1.
 */
public record SearchResult(long[] ids, float[] scores) {
    public SearchResult {
        if (ids.length != scores.length) {
            throw new IllegalArgumentException("ids and scores differ in length");
        }
    }

    public int size() {
        return ids.length;
    }

    @Override
    public String toString() {
        return "SearchResult" + Arrays.toString(ids);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SearchResult r && Arrays.equals(ids, r.ids) && Arrays.equals(scores, r.scores);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(ids) + Arrays.hashCode(scores);
    }
}
