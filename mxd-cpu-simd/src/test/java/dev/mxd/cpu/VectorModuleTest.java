package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Availability;
import dev.mxd.Backends;
import dev.mxd.MxdBackendException;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The backend in a JVM started without {@code --add-modules jdk.incubator.vector}: unavailable with the exact flag
 * to add (never a NoClassDefFoundError), except that {@code -Dmxd.simd.bits=0} runs the scalar path, which needs no
 * module. The Maven build runs this class in two such JVMs, with and without that property.
 */
class VectorModuleTest {
    private final boolean scalar = "0".equals(System.getProperty("mxd.simd.bits"));

    @Test
    void thisJvmLacksTheModule() {
        assertTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty(),
                "run this class in a JVM without --add-modules jdk.incubator.vector");
    }

    @Test
    void availabilityNamesTheFlagOrRunsScalar() {
        Availability a = new CpuBackend().availability();
        if (scalar) {
            assertTrue(a.available(), a.detail());
            assertTrue(a.detail().startsWith("scalar"), a.detail());
        } else {
            assertFalse(a.available());
            assertTrue(a.detail().contains("--add-modules jdk.incubator.vector"), a.detail());
            var e = assertThrows(MxdBackendException.class, () -> Backends.select("cpu"));
            assertTrue(e.getMessage().contains("--add-modules jdk.incubator.vector"), e.getMessage());
        }
    }

    @Test
    void loadAndSgemmFailClearlyOrRunScalar() {
        MxdConfig cfg = MxdConfig.mxd(3, 4, 5, 2, 2, Activation.GELU, false, false);
        MemorySegment one = MemorySegment.ofArray(new float[] {2f});
        MemorySegment c = MemorySegment.ofArray(new float[1]);
        try (MxdModel model = MxdModel.random(cfg, 1)) {
            if (scalar) {
                try (MxdLayer layer = new CpuBackend().load(model)) {
                    assertEquals(2 * cfg.outputDim(), layer.forward(new float[2 * cfg.inputDim()]).y().length);
                }
                Sgemm.multiply(1, 1, 1, one, one, c);
                assertEquals(4f, c.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0));
            } else {
                var e = assertThrows(MxdBackendException.class, () -> new CpuBackend().load(model));
                assertTrue(e.getMessage().contains("--add-modules jdk.incubator.vector"), e.getMessage());
                var e2 = assertThrows(MxdBackendException.class, () -> Sgemm.multiply(1, 1, 1, one, one, c));
                assertTrue(e2.getMessage().contains("--add-modules jdk.incubator.vector"), e2.getMessage());
            }
        }
    }
}
