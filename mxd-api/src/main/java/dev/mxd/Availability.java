package dev.mxd;

import java.util.Objects;

/**
 * The outcome of probing a backend.
 *
 * @param available whether the backend can load models here
 * @param gpu       whether it runs on a GPU (what {@code auto} looks for)
 * @param detail    the device when available (e.g. "AVX-512, 16 float lanes, 2 threads"), otherwise the
 *                  reason it is not, with the fix where one is known
 */
public record Availability(boolean available, boolean gpu, String detail) {
    public Availability {
        Objects.requireNonNull(detail, "detail");
    }

    public static Availability ready(boolean gpu, String device) {
        return new Availability(true, gpu, device);
    }

    public static Availability unavailable(String reason) {
        return new Availability(false, false, reason);
    }
}
