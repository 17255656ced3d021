package dev.mxd.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Availability;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lwjgl.opencl.CL10;

/** Build failures come back with the compiler's log; CL errors name the call and the code. */
class KernelBuildTest {
    private static final String BROKEN = """
            __kernel void broken(__global float* out) {
                out[get_global_id(0)] = undeclared_thing * 2.0f;
            }
            """;

    private ClDevice device;

    @BeforeEach
    void requireDevice() {
        device = OpenClTestSupport.backend().device();
    }

    @Test
    void aBrokenSourceFailsWithTheBuildLogNamingFileAndIdentifier() {
        int before = ClObjects.live();
        try (ClObjects objects = new ClObjects()) {
            long context = objects.context(device);
            ClBuildException e = assertThrows(ClBuildException.class, () -> KernelProgram.build(objects, context, device,
                    List.of(new KernelProgram.Source("broken.cl", BROKEN)), "-cl-std=CL1.2"));
            assertEquals(CL10.CL_BUILD_PROGRAM_FAILURE, e.errorCode());
            assertEquals("clBuildProgram", e.call());
            assertTrue(e.getMessage().startsWith("clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE (-11)"), e.getMessage());
            assertTrue(e.buildLog().contains("undeclared_thing"), e.buildLog());
            assertTrue(e.buildLog().contains("broken.cl"), e.buildLog());
            assertTrue(e.getMessage().contains(e.buildLog()), e.getMessage());
        }
        assertEquals(before, ClObjects.live(), "the failed program was released with its owner");
    }

    @Test
    void theProbeReportsABuildFailureAsUnavailableWithTheLog() {
        List<KernelProgram.Source> sources = new ArrayList<>(KernelProgram.backendSources());
        sources.add(new KernelProgram.Source("broken.cl", BROKEN));
        Availability a = OpenClBackend.probe("", sources).availability();
        assertFalse(a.available());
        assertTrue(a.detail().startsWith("kernel build failed on OpenCL device ["), a.detail());
        assertTrue(a.detail().contains("undeclared_thing"), a.detail());
    }

    @Test
    void aFailingCallIsAnExceptionNamingTheCallAndTheErrorCode() {
        try (ClObjects objects = new ClObjects()) {
            long context = objects.context(device);
            ClException e = assertThrows(ClException.class,
                    () -> objects.buffer(context, CL10.CL_MEM_READ_WRITE, 0, 0, "empty"));
            assertEquals("clCreateBuffer(empty, 0 bytes) failed: CL_INVALID_BUFFER_SIZE (-61)", e.getMessage());
        }
    }

    @Test
    void errorNamesFollowTheHeaders() {
        assertEquals("CL_OUT_OF_RESOURCES", ClException.errorName(CL10.CL_OUT_OF_RESOURCES));
        assertEquals("CL_INVALID_KERNEL_ARGS", ClException.errorName(CL10.CL_INVALID_KERNEL_ARGS));
        assertEquals("CL_PLATFORM_NOT_FOUND_KHR", ClException.errorName(-1001));
        assertEquals("CL_UNKNOWN_ERROR", ClException.errorName(-9999));
    }
}
