package dev.mxd.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Availability;
import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.MxdBackendException;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.train.TrainingBackend;
import dev.mxd.train.TrainingBackends;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The join between {@link Backend} and its training side, {@link TrainingBackend}, over the installed backends. */
class TrainingBackendsTest {

    @Test
    void aBackendTrainsExactlyWhenItIsATrainingBackend() {
        List<Backend> installed = Backends.installed();
        assertFalse(installed.isEmpty());
        for (Backend b : installed) {
            assertEquals(b.trains(), b instanceof TrainingBackend, b.name());
            if (b instanceof TrainingBackend t) {
                assertEquals(b.name(), t.name());
            }
        }
        assertEquals(List.of("cpu", "opencl", "reference"),
                installed.stream().filter(Backend::trains).map(Backend::name).sorted().toList());
    }

    /** {@code auto} trains on the OpenCL backend exactly where its device is a GPU (PoCL's CPU device: cpu). */
    @Test
    void autoTrainsOnOpenClOnlyOnAGpu() {
        Availability opencl = Backends.installed().stream().filter(b -> b.name().equals("opencl")).findFirst()
                .orElseThrow().availability();
        String expected = opencl.available() && opencl.gpu() ? "opencl" : "cpu";
        assertEquals(expected, Backends.selectForTraining("auto").name(), opencl.detail());
    }

    @Test
    void aBackendThatDoesNotTrainIsNamed() {
        Backend inferenceOnly = new Backend() {
            @Override
            public String name() {
                return "inference-only";
            }

            @Override
            public Availability availability() {
                return Availability.ready(false, "a backend that only runs the forward pass");
            }

            @Override
            public MxdLayer load(MxdModel model) {
                throw new UnsupportedOperationException();
            }
        };
        try (MxdModel model = MxdModel.random(MxdConfig.mxd(5, 7, 3, 5, 2, dev.mxd.Activation.RELU, false, false), 1)) {
            var e = assertThrows(MxdBackendException.class, () -> TrainingBackends.kernels(inferenceOnly, model));
            assertTrue(e.getMessage().startsWith("backend 'inference-only' does not train; backends that train here: "),
                    e.getMessage());
            for (Backend b : Backends.installed()) {
                assertEquals(b.trains(), e.getMessage().contains(" " + b.name() + ",")
                        || e.getMessage().contains(" " + b.name() + " ("), b.name() + " in " + e.getMessage());
            }
        }
    }
}
