package org.affengine.index;

/** How the exact index keeps its rows: full fp32, or fp16 (half the memory; queries stay fp32). */
public enum Storage {
    FLOAT32(0),
    FLOAT16(1);

    final int code;

    Storage(int code) {
        this.code = code;
    }

    static Storage ofCode(int code) {
        for (Storage s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        throw new IllegalStateException("unknown storage code " + code);
    }

    /** Parses "fp32" / "fp16" (or "float32" / "float16"). */
    public static Storage parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "fp32", "float32", "f32" -> FLOAT32;
            case "fp16", "float16", "f16", "half" -> FLOAT16;
            default -> throw new IllegalArgumentException("unknown storage '" + name + "' (expected fp32 or fp16)");
        };
    }
}
