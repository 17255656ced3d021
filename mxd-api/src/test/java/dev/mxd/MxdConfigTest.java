package dev.mxd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MxdConfigTest {

    private static Map<String, Object> mxdFields() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("d_in", 7);
        f.put("d_sae", 13);
        f.put("n_experts", 19);
        f.put("topk", 3);
        f.put("mlp_activation_fn", "gelu_tanh");
        f.put("use_conditional", true);
        f.put("is_transcoder", true);
        f.put("use_glu", true);
        f.put("use_skip", false);
        f.put("lr", 4e-4);
        f.put("nested", Map.of("a", List.of(1, 2)));
        return f;
    }

    @Test
    void kindFollowsReferenceFlags() {
        assertEquals(Kind.MXD, MxdConfig.fromReferenceFields(mxdFields()).kind());
        Map<String, Object> tc = mxdFields();
        tc.put("use_conditional", false);
        tc.remove("n_experts");
        assertEquals(Kind.TC, MxdConfig.fromReferenceFields(tc).kind());
        tc.put("use_skip", true);
        MxdConfig stc = MxdConfig.fromReferenceFields(tc);
        assertEquals(Kind.STC, stc.kind());
        assertTrue(stc.skip());
    }

    @Test
    void referenceFieldsRoundTripKeepingUnknownFields() {
        MxdConfig c = MxdConfig.fromReferenceFields(mxdFields());
        assertEquals(7, c.inputDim());
        assertEquals(7, c.outputDim(), "d_out defaults to d_in");
        assertEquals(Activation.GELU_TANH, c.activation());
        assertEquals(Map.of("a", List.of(1, 2)), c.otherFields().get("nested"));
        Map<String, Object> back = c.toReferenceFields();
        assertEquals("gelu_pytorch_tanh", back.get("mlp_activation_fn"));
        assertEquals(4e-4, back.get("lr"));
        assertEquals(13.0 / 7, back.get("expansion_factor"));
        assertEquals(c, MxdConfig.fromReferenceFields(back));
    }

    @Test
    void kOutOfRangeNamesFieldValueAndRange() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> MxdConfig.mxd(7, 13, 19, 7, 20, Activation.RELU, false, false));
        assertEquals("topk (K) = 20 is out of range [1, 19] (n_experts) for an MXD", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> MxdConfig.transcoder(7, 13, 7, 14, Activation.RELU, false));
        assertEquals("topk (K) = 14 is out of range [1, 13] (d_sae) for a TC", e.getMessage());
    }

    @Test
    void denseL1ModeIsRejected() {
        Map<String, Object> f = mxdFields();
        f.put("topk", 0);
        var e = assertThrows(IllegalArgumentException.class, () -> MxdConfig.fromReferenceFields(f));
        assertTrue(e.getMessage().contains("dense L1"), e.getMessage());
        f.put("topk", -1);
        assertThrows(IllegalArgumentException.class, () -> MxdConfig.fromReferenceFields(f));
    }

    @Test
    void badDimensionsAndTypesAreNamed() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> MxdConfig.mxd(0, 13, 19, 7, 3, Activation.RELU, false, false));
        assertEquals("d_in (I) = 0 is out of range: it must be >= 1", e.getMessage());
        Map<String, Object> f = mxdFields();
        f.put("d_sae", 12.5);
        e = assertThrows(IllegalArgumentException.class, () -> MxdConfig.fromReferenceFields(f));
        assertEquals("d_sae = 12.5 is not an integer in the int range", e.getMessage());
        f.put("d_sae", 13);
        f.remove("n_experts");
        e = assertThrows(IllegalArgumentException.class, () -> MxdConfig.fromReferenceFields(f));
        assertEquals("n_experts is missing from the config", e.getMessage());
        f.put("n_experts", 19);
        f.put("mlp_activation_fn", "tanh");
        e = assertThrows(IllegalArgumentException.class, () -> MxdConfig.fromReferenceFields(f));
        assertTrue(e.getMessage().startsWith("mlp_activation_fn = 'tanh' is not supported"), e.getMessage());
    }

    @Test
    void plainSaeIsRejected() {
        Map<String, Object> f = mxdFields();
        f.put("use_conditional", false);
        f.put("is_transcoder", false);
        var e = assertThrows(IllegalArgumentException.class, () -> MxdConfig.fromReferenceFields(f));
        assertTrue(e.getMessage().contains("plain SAE"), e.getMessage());
    }

    @Test
    void skipMustMatchTranscoderKind() {
        assertThrows(IllegalArgumentException.class,
                () -> new MxdConfig(Kind.STC, 7, 13, 7, 0, 3, Activation.RELU, false, false, Map.of()));
        assertThrows(IllegalArgumentException.class,
                () -> new MxdConfig(Kind.TC, 7, 13, 7, 5, 3, Activation.RELU, false, false, Map.of()));
    }

    @Test
    void equalParameterExpertsMatchesDesignFigures() {
        assertEquals(21504, MxdConfig.equalParameterExperts(768, 3072, 768, 24576, false));
        MxdConfig mxd = MxdConfig.mxd(768, 3072, 21504, 768, 32, Activation.RELU, false, false);
        MxdConfig tc = MxdConfig.transcoder(768, 24576, 768, 32, Activation.RELU, false);
        assertEquals(tc.parameterCount(), mxd.parameterCount(), 1537.0 / 2);
        // With GLU each side adds its own branch, and the counts still agree to within half an expert.
        int n = MxdConfig.equalParameterExperts(384, 1536, 384, 3072, true);
        MxdConfig mxdGlu = MxdConfig.mxd(384, 1536, n, 384, 32, Activation.GELU, true, false);
        MxdConfig tcGlu = MxdConfig.transcoder(384, 3072, 384, 32, Activation.GELU, true);
        assertEquals(tcGlu.parameterCount(), mxdGlu.parameterCount(), (384 + 384 + 1) / 2.0);
        assertThrows(IllegalArgumentException.class, () -> MxdConfig.equalParameterExperts(768, 3072, 768, 100, false));
    }

    @Test
    void tensorShapesFollowTheReferenceLayout() {
        MxdConfig c = MxdConfig.mxd(5, 9, 11, 3, 2, Activation.RELU, true, true);
        assertEquals(List.of("W_enc", "b_enc", "W_glu.weight", "W_glu.bias", "W_dec", "gate", "gate_bias", "W_cond",
                "W_skip.weight", "b_dec_out", "b_dec"), List.copyOf(c.tensorShapes().keySet()));
        assertEquals(List.of(3L, 11L), java.util.Arrays.stream(c.tensorShapes().get("W_cond")).boxed().toList());
        assertEquals(List.of(3L, 5L), java.util.Arrays.stream(c.tensorShapes().get("W_skip.weight")).boxed().toList());
    }
}
