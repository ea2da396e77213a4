package org.affengine.data;

import java.util.Map;

/**
 * What one gallery model produces, saved with its outputs so a store is never read with the wrong model: a global
 * vector of {@code dim} values, or a set of at most {@code maxLocal} local descriptors of {@code dim} values, each
 * with its position and scale. {@code details} holds the rest of the model's identity (input size, preprocessing,
 * weights checksum ...); any difference makes a store refuse to resume or to be read as this model's.
 */
public record FeatureSpec(String name, Kind kind, int dim, int maxLocal, Map<String, String> details) {
    public enum Kind {
        GLOBAL,
        LOCAL
    }

    public FeatureSpec {
        if (name == null || !name.matches("[A-Za-z0-9_.-]{1,64}")) {
            throw new IllegalArgumentException("model name must be 1-64 letters, digits, '_', '.' or '-': " + name);
        }
        if (dim < 1 || (kind == Kind.LOCAL && maxLocal < 1)) {
            throw new IllegalArgumentException(name + ": dimension and (for local models) maxLocal must be >= 1");
        }
        details = Map.copyOf(details);
    }

    public static FeatureSpec global(String name, int dim, Map<String, String> details) {
        return new FeatureSpec(name, Kind.GLOBAL, dim, 0, details);
    }

    public static FeatureSpec local(String name, int dim, int maxLocal, Map<String, String> details) {
        return new FeatureSpec(name, Kind.LOCAL, dim, maxLocal, details);
    }
}
