package org.affengine.index;

/** How vectors are compared. */
public enum Metric {
    /** Inner product: larger scores are closer. On L2-normalised vectors this is cosine similarity. */
    INNER_PRODUCT(0),
    /** Squared Euclidean distance: smaller scores are closer. */
    L2(1);

    final int code;

    Metric(int code) {
        this.code = code;
    }

    static Metric ofCode(int code) {
        for (Metric m : values()) {
            if (m.code == code) {
                return m;
            }
        }
        throw new IllegalStateException("unknown metric code " + code);
    }

    /** Parses "ip", "inner_product", "l2" (any case). */
    public static Metric parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "ip", "inner_product", "dot", "cosine" -> INNER_PRODUCT;
            case "l2", "euclidean" -> L2;
            default -> throw new IllegalArgumentException("unknown metric '" + name + "' (expected ip or l2)");
        };
    }
}
