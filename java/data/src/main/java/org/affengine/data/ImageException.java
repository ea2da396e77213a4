package org.affengine.data;

import java.io.IOException;

/** Image data that cannot be decoded, or may not be: empty, corrupt, truncated, unknown format, over a limit. */
public final class ImageException extends IOException {
    public ImageException(String message) {
        super(message);
    }
}
