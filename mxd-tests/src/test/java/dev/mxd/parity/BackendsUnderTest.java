package dev.mxd.parity;

import dev.mxd.Availability;
import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.oracle.OracleBackend;
import java.util.ArrayList;
import java.util.List;

/**
 * The backends the suite runs over: every installed backend but {@code reference} (the oracle itself). A backend
 * joins by being on the test class path. One that is installed but unavailable fails the suite when {@code CI=true}
 * and is skipped with a message elsewhere (a laptop without OpenCL still runs the rest).
 */
final class BackendsUnderTest {
    private static final List<Backend> BACKENDS = find();

    private BackendsUnderTest() {
    }

    static List<Backend> all() {
        return BACKENDS;
    }

    private static List<Backend> find() {
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        List<Backend> out = new ArrayList<>();
        for (Backend b : Backends.installed()) {
            if (b.name().equals(OracleBackend.NAME)) {
                continue;
            }
            Availability a = b.availability();
            if (a.available()) {
                out.add(b);
            } else if (ci) {
                throw new AssertionError("backend '" + b.name() + "' is installed but unavailable, which fails the suite"
                        + " under CI=true: " + a.detail());
            } else {
                System.err.println("[mxd-tests] skipping backend '" + b.name() + "': " + a.detail());
            }
        }
        return List.copyOf(out);
    }
}
