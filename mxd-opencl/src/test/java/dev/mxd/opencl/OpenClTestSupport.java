package dev.mxd.opencl;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import dev.mxd.Availability;

/**
 * The CI rule of DESIGN §3 for tests that need an OpenCL device: with {@code CI=true} an unavailable
 * backend fails the test; elsewhere the test is skipped with the reason.
 */
final class OpenClTestSupport {
    static final boolean CI = "true".equalsIgnoreCase(System.getenv("CI"));

    private OpenClTestSupport() {
    }

    /** The default backend ({@code -Dmxd.opencl.device} or the default device), available or the test stops. */
    static OpenClBackend backend() {
        OpenClBackend backend = new OpenClBackend();
        requireAvailable(backend.availability());
        return backend;
    }

    static void requireAvailable(Availability a) {
        if (!a.available()) {
            String message = "OpenCL backend unavailable: " + a.detail();
            if (CI) {
                fail(message + " (CI=true: an unavailable OpenCL backend fails the build)");
            }
            abort(message);
        }
    }
}
