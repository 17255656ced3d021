package dev.mxd.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** AdamW against torch.optim.AdamW ({@code adamw.json} of tools/fixtures/make_train_fixture.py). */
class AdamWTest {

    @Test
    void stepsMatchTorch() throws IOException {
        JsonNode f = LearningRateScheduleTest.fixture("adamw.json");
        // a TC whose b_dec_out has the fixture's 13 elements carries the parameter
        MxdConfig cfg = MxdConfig.transcoder(1, 1, 13, 1, Activation.RELU, false);
        try (MxdModel model = MxdModel.zeros(cfg);
             ParameterTensors grads = ParameterTensors.zeros(cfg);
             ParameterTensors m = ParameterTensors.zeros(cfg);
             ParameterTensors v = ParameterTensors.zeros(cfg)) {
            AdamW adam = new AdamW(0.9, 0.999, 1e-8, f.get("weight_decay").asDouble());
            MemorySegment p = model.tensor("b_dec_out").data();
            MemorySegment g = grads.tensor("b_dec_out").data();
            fill(p, f.get("start"));
            int step = 0;
            for (JsonNode s : f.get("steps")) {
                fill(g, s.get("grad"));
                AdamW.update(model, grads, m, v, adam.next(s.get("lr").asDouble()));
                step++;
                assertEquals(step, adam.steps());
                // one rounding per stored value in float32 in both: a few ulps of the values
                compare(s.get("param"), p, 2e-7, "param after step " + step);
                compare(s.get("exp_avg"), m.tensor("b_dec_out").data(), 1e-6, "exp_avg after step " + step);
                compare(s.get("exp_avg_sq"), v.tensor("b_dec_out").data(), 1e-6, "exp_avg_sq after step " + step);
            }
            // the element without gradient at step 3 still moved, by its moments
            assertTrue(f.get("steps").get(2).get("grad").get(3).asDouble() == 0.0);
            assertTrue(f.get("steps").get(2).get("param").get(3).asDouble() != f.get("steps").get(1).get("param").get(3).asDouble());
        }
    }

    @Test
    void bDecIsNeverTouchedAndHyperParametersAreChecked() {
        MxdConfig cfg = MxdConfig.mxd(3, 4, 5, 3, 2, Activation.RELU, false, false);
        try (MxdModel model = MxdModel.random(cfg, 1); ParameterTensors grads = ParameterTensors.zeros(cfg);
             ParameterTensors m = ParameterTensors.zeros(cfg); ParameterTensors v = ParameterTensors.zeros(cfg)) {
            float before = model.tensor("b_dec").data().getAtIndex(Tensor.F32_LE, 0);
            grads.tensor("W_enc").data().setAtIndex(Tensor.F32_LE, 0, 1f);
            AdamW.update(model, grads, m, v, AdamW.reference().next(1e-3));
            assertEquals(before, model.tensor("b_dec").data().getAtIndex(Tensor.F32_LE, 0));
            assertThrows(IllegalArgumentException.class, () -> grads.tensor("b_dec"));
        }
        assertThrows(IllegalArgumentException.class, () -> new AdamW(1.0, 0.999, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(0.9, 0.999, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(0.9, 0.999, 1e-8, -1));
    }

    private static void fill(MemorySegment s, JsonNode values) {
        for (int i = 0; i < values.size(); i++) {
            s.setAtIndex(Tensor.F32_LE, i, (float) values.get(i).asDouble());
        }
    }

    private static void compare(JsonNode expected, MemorySegment actual, double rel, String what) {
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.get(i).asDouble();
            double a = actual.getAtIndex(Tensor.F32_LE, i);
            assertEquals(e, a, rel * Math.abs(e) + 1e-12, what + " [" + i + "]");
        }
    }
}
