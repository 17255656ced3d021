package dev.mxd.checkpoint.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What {@link TorchCheckpoint#read} reports about a file: the pickled config and the tensor layouts torch wrote. */
class TorchCheckpointReadTest {

    @Test
    void theConfigIsThePickledDataclassAsPlainValues() throws IOException {
        TorchCheckpoint cp = TorchCheckpoint.read(Fixtures.pt("mxd_glu_skip_gelu"));
        assertEquals("sae_training.config.LanguageModelSAERunnerConfig", cp.configClass());
        Map<String, Object> cfg = cp.config();
        assertEquals(9L, cfg.get("d_in"));
        assertEquals(10L, cfg.get("d_sae"), "set after __post_init__, kept from the object's state");
        assertEquals(17L, cfg.get("n_experts"));
        assertEquals("gelu", cfg.get("mlp_activation_fn"));
        assertEquals(Boolean.TRUE, cfg.get("use_glu"));
        assertEquals("cuda:0", cfg.get("device"), "torch.device becomes its string");
        assertEquals("torch.float32", cfg.get("dtype"), "a torch dtype is a name");
        assertEquals(List.of(false), cfg.get("use_ghost_grads"));
        assertNull(cfg.get("hook_point_head_index"));
        assertTrue(cfg.containsKey("hook_point_head_index"), "None-valued fields are kept");
        assertEquals(2_000_000L, cfg.get("total_training_tokens"));
        assertEquals(1e-8, cfg.get("dead_feature_threshold"));
        // the field order of the dataclass survives
        assertEquals("model_name", cfg.keySet().iterator().next());
    }

    @Test
    void tensorsKeepTheirLayoutsAndStorageLocations() throws IOException {
        TorchCheckpoint cp = TorchCheckpoint.read(Fixtures.pt("mxd_glu_skip_gelu"));
        // state_dict() order: the module's own parameters, then W_glu's and W_skip's, then the extra tensors
        assertEquals(List.of("W_enc", "b_enc", "W_dec", "gate", "gate_bias", "W_cond", "b_dec", "b_dec_out",
                "W_glu.weight", "W_glu.bias", "W_skip.weight", "extra.scale", "extra.scalar", "extra.empty"),
                List.copyOf(cp.tensors().keySet()));
        assertArrayEquals(new long[0], cp.tensors().get("extra.scalar").shape());
        assertEquals(0, cp.tensors().get("extra.empty").storageElements());
        TorchTensor wEnc = cp.tensors().get("W_enc");
        // the reference's W_enc is nn.Linear(I, H).weight.T: column-major [I, H]
        assertArrayEquals(new long[] {9, 10}, wEnc.shape());
        assertArrayEquals(new long[] {1, 9}, wEnc.stride());
        assertFalse(wEnc.isRowMajor());
        assertTrue(cp.tensors().get("gate").isRowMajor());
        assertEquals("cuda:0", wEnc.location());
        assertEquals("float32", wEnc.torchDtype());
        assertEquals(Optional.of(DType.F32), wEnc.dtype());
    }

    @Test
    void viewsIntoOneSharedStorageAtAnOffset() throws IOException {
        TorchCheckpoint cp = TorchCheckpoint.read(Fixtures.pt("mxd_relu"));
        TorchTensor out = cp.tensors().get("b_dec_out");
        TorchTensor dec = cp.tensors().get("b_dec");
        assertEquals(out.storageKey(), dec.storageKey());
        assertEquals(20, out.storageElements());
        assertEquals(2, out.storageOffset());
        assertEquals(11, dec.storageOffset());
        try (MxdModel model = TorchCheckpoint.load(Fixtures.pt("mxd_relu"))) {
            Map<String, Fixtures.Entry> expected = Fixtures.expected("mxd_relu");
            float[] bDec = expected.get("weights/b_dec").floats();
            Tensor t = model.tensor("b_dec");
            for (int i = 0; i < bDec.length; i++) {
                assertEquals(bDec[i], t.data().getAtIndex(Tensor.F32_LE, i));
            }
        }
    }

    @Test
    void everyFloatingDtypeIsReported() throws IOException {
        Map<String, TorchTensor> t = TorchCheckpoint.read(Fixtures.pt("mxd_mixed_dtypes")).tensors();
        assertEquals("float16", t.get("W_enc").torchDtype());
        assertArrayEquals(new long[] {1, 5}, t.get("W_enc").stride(), ".half() keeps the transposed strides");
        assertEquals("float16", t.get("b_enc").torchDtype());
        assertEquals("bfloat16", t.get("W_cond").torchDtype());
        assertEquals("float64", t.get("gate").torchDtype());
        assertEquals("float32", t.get("W_dec").torchDtype());
    }

    @Test
    void aTranscoderKeepsTheReferencesUnusedExpertCount() throws IOException {
        TorchCheckpoint cp = TorchCheckpoint.read(Fixtures.pt("tc_gelu_tanh_proto4"));
        MxdConfig c = cp.mxdConfig();
        assertEquals(Kind.TC, c.kind());
        assertEquals(0, c.experts());
        assertEquals(16_384L, c.otherFields().get("n_experts"), "the dataclass default, meaningless for a TC");
    }

    @Test
    void configAndTensorsAreUnmodifiable() throws IOException {
        TorchCheckpoint cp = TorchCheckpoint.read(Fixtures.pt("stc_glu_gelu"));
        assertThrows(UnsupportedOperationException.class,
                () -> cp.config().put("d_in", 3L));
        assertThrows(UnsupportedOperationException.class,
                () -> cp.tensors().remove("W_enc"));
    }
}
