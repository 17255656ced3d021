package dev.mxd.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** The fallback from {@code libOpenCL.so} to {@code libOpenCL.so.1}. */
class ClLibraryTest {

    @Test
    void theUnversionedNameIsPreferredAndTheVersionedOneIsTheFallback() {
        assertEquals("libOpenCL.so", ClLibrary.firstLoadable(ClLibrary.LINUX_NAMES, Set.of("libOpenCL.so", "libOpenCL.so.1")::contains));
        assertEquals("libOpenCL.so.1", ClLibrary.firstLoadable(ClLibrary.LINUX_NAMES, Set.of("libOpenCL.so.1")::contains));
        assertNull(ClLibrary.firstLoadable(ClLibrary.LINUX_NAMES, Set.<String>of()::contains));
    }

    @Test
    void dlopenAnswersForRealLibraries() {
        assertFalse(ClLibrary.dlopens("libOpenCL-that-does-not-exist.so.7"));
        // libc is on every Linux machine this runs on; the ICD loader where OpenCL is installed
        assertTrue(ClLibrary.dlopens("libc.so.6"));
        if (new OpenClBackend().availability().available()) {
            assertTrue(ClLibrary.dlopens("libOpenCL.so.1") || ClLibrary.dlopens("libOpenCL.so"));
        }
    }
}
