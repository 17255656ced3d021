package dev.mxd.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The learning-rate sequences of the six schedules against those PyTorch's schedulers produce when built as the
 * reference's optim.py builds them and stepped as its training loop steps them
 * ({@code tools/fixtures/make_train_fixture.py}).
 */
class LearningRateScheduleTest {

    static JsonNode fixture(String name) throws IOException {
        try (InputStream in = LearningRateScheduleTest.class.getResourceAsStream("/fixtures/train/" + name)) {
            if (in == null) {
                throw new IOException("missing test resource fixtures/train/" + name);
            }
            return new ObjectMapper().readTree(in);
        }
    }

    @Test
    void everyScheduleFollowsTorchStepForStep() throws IOException {
        JsonNode f = fixture("schedules.json");
        double lr = f.get("lr").asDouble();
        long warm = f.get("lr_warm_up_steps").asLong();
        long total = f.get("training_steps").asLong();
        int seen = 0;
        for (Map.Entry<String, JsonNode> e : f.get("schedules").properties()) {
            LearningRateSchedule s = LearningRateSchedule.reference(e.getKey(), lr, warm, total);
            JsonNode seq = e.getValue();
            assertEquals(total, seq.size());
            for (int u = 1; u <= seq.size(); u++) {
                double expected = seq.get(u - 1).asDouble();
                // torch's CosineAnnealingLR is a recursion equal to the closed form up to rounding
                assertEquals(expected, s.forUpdate(u), 1e-12 * lr, e.getKey() + " at update " + u);
            }
            seen++;
        }
        assertEquals(LearningRateSchedule.Kind.values().length, seen);
    }

    @Test
    void theFirstUpdateAlreadyUsesLambdaOfOne() {
        LearningRateSchedule s = LearningRateSchedule.reference("constantwithwarmup", 1e-3, 4, 100);
        assertEquals(1e-3 * 2 / 4, s.forUpdate(1), 1e-18);
        assertEquals(1e-3 * 1 / 4, s.atEpoch(0), 1e-18);
        assertEquals(1e-3, s.forUpdate(3), 1e-18);
        LearningRateSchedule decay = LearningRateSchedule.reference("linearwarmupdecay", 1e-3, 4, 100);
        assertEquals(0.0, decay.forUpdate(100), 0.0);
    }

    @Test
    void namesAreTheReferencesCaseInsensitive() {
        assertEquals(LearningRateSchedule.Kind.COSINE_ANNEALING_WARM_RESTARTS,
                LearningRateSchedule.Kind.parse("CosineAnnealingWarmRestarts"));
        assertEquals(LearningRateSchedule.Kind.CONSTANT, LearningRateSchedule.Kind.parse(null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LearningRateSchedule.Kind.parse("onecycle"));
        assertTrue(e.getMessage().contains("onecycle") && e.getMessage().contains("constantwithwarmup"));
    }

    @Test
    void settingsTheFormulasCannotEvaluateAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.reference("linearwarmupdecay", 1e-3, 10, 10));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.reference("cosineannealingwarmup", 1e-3, 12, 10));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.reference("constant", 0, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.reference("constant", 1e-3, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.reference("constant", 1e-3, -1, 10));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.reference("constant", 1e-3, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(
                LearningRateSchedule.Kind.COSINE_ANNEALING_WARM_RESTARTS, 1e-3, 0, 3, 1e-4, 4));
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.reference("constant", 1e-3, 0, 1).forUpdate(0));
        assertEquals(1e-3, LearningRateSchedule.reference("constantwithwarmup", 1e-3, 0, 10).forUpdate(1), 0.0);
    }
}
