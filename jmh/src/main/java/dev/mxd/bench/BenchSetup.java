package dev.mxd.bench;

import dev.mxd.Backend;
import dev.mxd.Backends;

/** What every benchmark's trial setup and teardown share. */
final class BenchSetup {
    private BenchSetup() {
    }

    /** The backend named by {@code -Dmxd.backend} (default {@code cpu}), printed with the settings that shape it. */
    static Backend backend() {
        Backend backend = Backends.select(System.getProperty(Backends.PROPERTY, "cpu"));
        System.out.println("backend " + backend.name() + ": " + backend.availability().detail()
                + "; mxd.simd.bits=" + System.getProperty("mxd.simd.bits", "(unset)")
                + ", mxd.threads=" + System.getProperty("mxd.threads", "(unset)"));
        return backend;
    }

    /**
     * Closes {@code resource} when it is not null and returns null, for {@code field = closed(field)}: a teardown
     * that may run after a failed setup, or twice, closes each resource at most once.
     */
    static <T extends AutoCloseable> T closed(T resource) {
        if (resource != null) {
            try {
                resource.close();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("closing " + resource, e);
            }
        }
        return null;
    }
}
