package dev.mxd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BackendsTest {

    private record Fake(String name, Availability availability, boolean trains) implements Backend {
        Fake(String name, Availability availability) {
            this(name, availability, name.equals("cpu") || name.equals("reference"));
        }

        @Override
        public MxdLayer load(MxdModel model) {
            throw new UnsupportedOperationException();
        }
    }

    private static final Backend CPU = new Fake("cpu", Availability.ready(false, "AVX-512, 2 threads"));
    private static final Backend GPU = new Fake("opencl", Availability.ready(true, "NVIDIA H100"));
    private static final Backend POCL = new Fake("opencl", Availability.ready(false, "PoCL cpu device"));
    private static final Backend NO_CL = new Fake("opencl", Availability.unavailable("no OpenCL library (libOpenCL.so)"));
    private static final Backend REF = new Fake("reference", Availability.ready(false, "float64 scalar oracle"));

    @Test
    void unknownNameListsWhatExists() {
        var e = assertThrows(MxdBackendException.class, () -> Backends.select("cuda", List.of(CPU, NO_CL, REF)));
        assertEquals("unknown backend 'cuda' (names: auto, cpu, opencl, reference). Available: cpu (AVX-512, 2 threads),"
                + " reference (float64 scalar oracle); unavailable: opencl (no OpenCL library (libOpenCL.so))", e.getMessage());
    }

    @Test
    void unavailableBackendIsAnErrorNotAFallback() {
        var e = assertThrows(MxdBackendException.class, () -> Backends.select("opencl", List.of(CPU, NO_CL, REF)));
        assertTrue(e.getMessage().startsWith("backend 'opencl' is unavailable: no OpenCL library (libOpenCL.so). Available: cpu"),
                e.getMessage());
    }

    @Test
    void missingModuleNamesTheArtifact() {
        var e = assertThrows(MxdBackendException.class, () -> Backends.select("opencl", List.of(CPU, REF)));
        assertTrue(e.getMessage().startsWith("backend 'opencl' is not on the class path (add dev.mxd:mxd-opencl)"),
                e.getMessage());
    }

    @Test
    void autoTakesOpenClOnlyOnAGpu() {
        assertSame(GPU, Backends.select("auto", List.of(CPU, GPU, REF)));
        assertSame(CPU, Backends.select("auto", List.of(CPU, POCL, REF)));
        assertSame(CPU, Backends.select(null, List.of(CPU, NO_CL, REF)));
        var e = assertThrows(MxdBackendException.class, () -> Backends.select("auto", List.of(POCL, REF)));
        assertTrue(e.getMessage().startsWith("mxd.backend=auto found neither an OpenCL GPU nor an available cpu backend."),
                e.getMessage());
    }

    @Test
    void trainingTakesABackendThatTrains() {
        assertSame(CPU, Backends.selectForTraining("auto", List.of(CPU, GPU, REF)));
        Backend gpuThatTrains = new Fake("opencl", Availability.ready(true, "NVIDIA H100"), true);
        assertSame(gpuThatTrains, Backends.selectForTraining(null, List.of(CPU, gpuThatTrains, REF)));
        assertSame(REF, Backends.selectForTraining("reference", List.of(CPU, GPU, REF)));
        var e = assertThrows(MxdBackendException.class, () -> Backends.selectForTraining("opencl", List.of(CPU, GPU, REF)));
        assertEquals("backend 'opencl' does not train; backends that train: cpu, reference (cpu is fast, reference is the"
                + " exact and slow float64 oracle)", e.getMessage());
        e = assertThrows(MxdBackendException.class, () -> Backends.selectForTraining("cuda", List.of(CPU, REF)));
        assertTrue(e.getMessage().startsWith("unknown backend 'cuda'"), e.getMessage());
    }

    @Test
    void explicitNamesAreCaseInsensitive() {
        assertSame(POCL, Backends.select(" OpenCL ", List.of(CPU, POCL, REF)));
        assertSame(REF, Backends.select("reference", List.of(CPU, POCL, REF)));
    }

    @Test
    void propertyWinsOverEnvironmentWhichWinsOverAuto() {
        Map<String, String> props = Map.of("mxd.backend", "reference");
        Map<String, String> env = Map.of("MXD_BACKEND", "cpu");
        assertEquals("reference", Backends.requestedName(props::get, env::get));
        assertEquals("cpu", Backends.requestedName(k -> null, env::get));
        assertEquals("auto", Backends.requestedName(k -> null, k -> null));
        assertEquals("auto", Backends.requestedName(k -> " ", k -> ""));
    }

    @Test
    void referenceIsInstalledThroughServiceLoader() {
        assertTrue(Backends.installed().stream().anyMatch(b -> b.name().equals("reference")));
        assertEquals("reference", Backends.select("reference").name());
    }
}
