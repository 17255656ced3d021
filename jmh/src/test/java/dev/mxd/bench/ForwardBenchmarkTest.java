package dev.mxd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Backends;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The benchmark's setup: it times a correct backend and refuses to time a wrong one. */
class ForwardBenchmarkTest {
    private final String savedBackend = System.getProperty(Backends.PROPERTY);

    @AfterEach
    void restore() {
        if (savedBackend == null) {
            System.clearProperty(Backends.PROPERTY);
        } else {
            System.setProperty(Backends.PROPERTY, savedBackend);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void setsUpTheSmallShapeOnACorrectBackend(String backend) {
        System.setProperty(Backends.PROPERTY, backend);
        ForwardBenchmark.Layer l = new ForwardBenchmark.Layer();
        l.shape = "small";
        l.load();
        try {
            assertEquals(512, l.tokens);
            assertEquals(backend, l.layer.backendName());
            assertEquals(2048, l.layer.config().experts());
            Tokens counter = new Tokens();
            counter.reset();
            new ForwardBenchmark().simd(l, counter);
            assertEquals(512, counter.tokens);
        } finally {
            l.free();
        }
        assertEquals(null, l.layer);
    }

    @Test
    void refusesToTimeAWrongBackendAndFreesWhatItLoaded() {
        System.setProperty(Backends.PROPERTY, PerturbedBackend.NAME);
        ForwardBenchmark.Layer l = new ForwardBenchmark.Layer();
        l.shape = "small";
        IllegalStateException e = assertThrows(IllegalStateException.class, l::load);
        assertTrue(e.getMessage().contains("backend perturbed-test gives y[0, 5]"), e.getMessage());
        assertTrue(e.getMessage().contains("wrong results are not timed"), e.getMessage());
        assertNotNull(PerturbedBackend.lastLoaded);
        assertTrue(PerturbedBackend.lastLoaded.isClosed(), "the layer of a failed setup is closed");
    }

    @Test
    void unknownShapeIsAClearError() {
        ForwardBenchmark.Layer l = new ForwardBenchmark.Layer();
        l.shape = "gpt3";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, l::load);
        assertEquals("unknown shape 'gpt3'; shapes: gpt2, small", e.getMessage());
    }
}
