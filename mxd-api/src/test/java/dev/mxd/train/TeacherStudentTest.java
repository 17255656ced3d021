package dev.mxd.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleTrainingKernels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The oracle trainer learns: students of known MxD teachers, evaluated on held-out data. */
class TeacherStudentTest {

    /**
     * Learning works. A teacher whose K equals N routes by relu alone (an expert joins with code 0, so its function
     * is continuous): the student reaches FVU &lt; 0.05 on held-out data. A teacher that routes by TopK with K &lt; N is
     * discontinuous where its selection changes, and the reference's training (TopK a fixed selection in the
     * backward) stalls on it at tiny sizes (FVU about 0.2 at N = 16, K = 3 even after 8000 steps): that case is
     * only required to learn substantially.
     */
    @Test
    void aStudentLearnsItsTeacher() {
        MxdConfig relu = MxdConfig.mxd(6, 8, 6, 5, 6, Activation.GELU, false, false);
        Metrics.Summary dense = learn(relu, relu, 800);
        assertTrue(dense.fvu() < 0.05, "student FVU " + dense.fvu());
        assertTrue(dense.l0() < 5.5, "the teacher's relu routing should leave experts off: L0 " + dense.l0());
        MxdConfig topK = MxdConfig.mxd(6, 10, 16, 5, 3, Activation.GELU, false, false);
        Metrics.Summary sparse = learn(topK, topK, 400);
        assertTrue(sparse.fvu() < 0.35, "student FVU " + sparse.fvu());
        assertEquals(3.0, sparse.l0(), 0.5);
    }

    private static Metrics.Summary learn(MxdConfig teacher, MxdConfig student, int steps) {
        ActivationSource data = TrainingTestData.teacherData(teacher, 4, 4096, 256);
        List<Metrics.Summary> evals = new ArrayList<>();
        try (MxdModel model = ReferenceInit.create(student, true, 9);
             OracleTrainingKernels k = new OracleTrainingKernels(model);
             Trainer trainer = new Trainer(k, data, TrainingOptions.builder(64, 64L * steps).lr(1e-2).warmupSteps(50)
                     .evaluation(steps / 2, 0).seed(3).build(), new TrainingListener() {
                 @Override
                 public void onEvaluation(long step, Metrics.Summary metrics) {
                     evals.add(metrics);
                 }
             })) {
            double before = trainer.evaluate().fvu();
            trainer.run();
            System.out.printf("student of %s: FVU %.4f before, then %s%n", teacher, before,
                    evals.stream().map(e -> String.format("%.4f", e.fvu())).toList());
        }
        assertEquals(2, evals.size());
        return evals.get(1);
    }
}
