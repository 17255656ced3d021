package dev.mxd.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Backends;
import dev.mxd.Codes;
import dev.mxd.MxdBackendException;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Load, reuse, close: what a layer owns is released exactly once, and calls after close are refused. */
class LayerLifecycleTest {
    private static final MxdConfig CONFIG = MxdConfig.mxd(12, 20, 33, 10, 4, Activation.GELU, true, true);

    private OpenClBackend backend;

    @BeforeEach
    void requireDevice() {
        backend = OpenClTestSupport.backend();
    }

    @Test
    void callsAfterCloseAreRefusedAndCloseTwiceIsFine() {
        try (MxdModel model = MxdModel.random(CONFIG, 1)) {
            MxdLayer layer = backend.load(model);
            float[] x = Oracle.inputs(3, CONFIG.inputDim(), 1);
            Codes codes = layer.encode(x);
            layer.close();
            assertTrue(layer.isClosed());
            assertDoesNotThrow(layer::close);
            assertThrows(IllegalStateException.class, () -> layer.forward(x));
            assertThrows(IllegalStateException.class, () -> layer.encode(x));
            assertThrows(IllegalStateException.class, () -> layer.decode(x, codes));
        }
    }

    @Test
    void manyLoadCloseCyclesReleaseEveryObjectTheyCreate() {
        int before = ClObjects.live();
        try (MxdModel model = MxdModel.random(CONFIG, 2)) {
            float[] x = Oracle.inputs(5, CONFIG.inputDim(), 2);
            float[] first = null;
            // ./mxd stress: a twentieth of its mxd.stress.cycles (PoCL builds the program on every load)
            int cycles = Math.max(25, Integer.getInteger("mxd.stress.cycles", 0) / 20);
            for (int cycle = 0; cycle < cycles; cycle++) {
                try (MxdLayer layer = backend.load(model)) {
                    // context, queue, program, 5 kernels, the weights, then scratch grown by the calls
                    int loaded = ClObjects.live() - before;
                    assertTrue(loaded >= 8 + 10, "objects of a loaded layer: " + loaded);
                    float[] y = layer.forward(x).y();
                    layer.forward(Oracle.inputs(70, CONFIG.inputDim(), 3)); // grows every scratch buffer
                    assertTrue(ClObjects.live() - before > loaded, "scratch buffers are counted too");
                    if (first == null) {
                        first = y;
                    } else {
                        assertArrayEquals(first, y, "cycle " + cycle);
                    }
                }
                assertEquals(before, ClObjects.live(), "live OpenCL objects after cycle " + cycle);
            }
        }
    }

    @Test
    void buffersAreReusedAcrossCallsOfChangingSize() {
        try (MxdModel model = MxdModel.random(CONFIG, 3); MxdLayer layer = backend.load(model)) {
            float[] small = Oracle.inputs(2, CONFIG.inputDim(), 4);
            float[] expected = layer.forward(small).y();
            layer.forward(Oracle.inputs(300, CONFIG.inputDim(), 5));
            int live = ClObjects.live();
            assertArrayEquals(expected, layer.forward(small).y(), "a small call after a large one");
            layer.forward(Oracle.inputs(250, CONFIG.inputDim(), 6));
            assertEquals(live, ClObjects.live(), "no buffer is created when the grown ones suffice");
        }
    }

    @Test
    void aClosedModelFailsToLoadAndLeavesNothingBehind() {
        int before = ClObjects.live();
        MxdModel model = MxdModel.random(CONFIG, 4);
        model.close();
        assertThrows(IllegalStateException.class, () -> backend.load(model));
        assertThrows(IllegalStateException.class, () -> new OpenClLayer(model, backend.device(), KernelGeometry.FAT, 1 << 20));
        assertEquals(before, ClObjects.live());
    }

    @Test
    void concurrentCallersGetTheirOwnResults() throws Exception {
        try (MxdModel model = MxdModel.random(CONFIG, 5); MxdLayer layer = backend.load(model);
             ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<float[]> inputs = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                float[] x = Oracle.inputs(1 + 37 * i, CONFIG.inputDim(), 100 + i);
                inputs.add(x);
                expected.add(layer.forward(x).y());
            }
            List<Future<float[]>> results = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                for (float[] x : inputs) {
                    results.add(pool.submit(() -> layer.forward(x).y()));
                }
            }
            for (int i = 0; i < results.size(); i++) {
                assertArrayEquals(expected.get(i % inputs.size()), results.get(i).get(), "call " + i);
            }
        }
    }

    @Test
    void theBackendIsRegisteredAndSelectableByName() {
        assertTrue(Backends.installed().stream().anyMatch(b -> b instanceof OpenClBackend));
        if (System.getProperty(OpenClBackend.DEVICE_PROPERTY) == null) {
            assertTrue(Backends.select("opencl") instanceof OpenClBackend);
        }
    }

    @Test
    void anUnavailableBackendRefusesToLoad() {
        OpenClBackend none = new OpenClBackend("no such device name");
        try (MxdModel model = MxdModel.random(CONFIG, 6)) {
            MxdBackendException e = assertThrows(MxdBackendException.class, () -> none.load(model));
            assertTrue(e.getMessage().contains("matches no device name"), e.getMessage());
        }
    }
}
