package dev.mxd;

/** A backend cannot be chosen or cannot run: unknown name, unavailable, or a device failure. */
public class MxdBackendException extends RuntimeException {
    public MxdBackendException(String message) {
        super(message);
    }

    public MxdBackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
