package dev.mxd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class ActivationTest {

    @Test
    void erfMatchesTabulatedValues() {
        // Values from Abramowitz & Stegun table 7.1 and high-precision references.
        assertEquals(0.0, Activation.erf(0.0));
        assertEquals(0.1124629160182849, Activation.erf(0.1), 1e-15);
        assertEquals(0.5204998778130465, Activation.erf(0.5), 1e-15);
        assertEquals(0.8427007929497149, Activation.erf(1.0), 1e-15);
        assertEquals(0.9953222650189527, Activation.erf(2.0), 1e-15);
        assertEquals(0.9999779095030014, Activation.erf(3.0), 1e-15);
        assertEquals(0.9999999845827421, Activation.erf(4.0), 1e-15);
        assertEquals(-0.8427007929497149, Activation.erf(-1.0), 1e-15);
        assertEquals(1.0, Activation.erf(7.0));
    }

    @Test
    void activationsFollowTheirDefinitions() {
        assertEquals(0.0, Activation.RELU.apply(-2));
        assertEquals(0.8413447460685429, Activation.GELU.apply(1.0), 1e-15);
        assertEquals(-0.04550026389635842, Activation.GELU.apply(-2.0), 1e-15);
        assertEquals(0.8411919906082768, Activation.GELU_TANH.apply(1.0), 1e-15);
        assertEquals(0.7310585786300049, Activation.SIGMOID.apply(1.0), 1e-15);
        assertEquals(0.7310585786300049, Activation.SILU.apply(1.0), 1e-15);
    }

    @Test
    void namesAndAliasesParse() {
        assertSame(Activation.GELU_TANH, Activation.parse("gelu_tanh"));
        assertSame(Activation.GELU_TANH, Activation.parse("gelu_pytorch_tanh"));
        assertSame(Activation.GELU, Activation.parse("GELU"));
        assertSame(Activation.SILU, Activation.parse("silu"));
    }
}
