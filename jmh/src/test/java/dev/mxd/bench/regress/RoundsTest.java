package dev.mxd.bench.regress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Rounds of a suite joined into one result per benchmark, scored as JMH scores. */
class RoundsTest {
    private static final RunDocument REAL = RunDocument.read(RegressMainTest.resource("wide.json"));

    @Test
    void oneRoundKeepsJmhsOwnScoreAndError() {
        Rounds rounds = new Rounds();
        REAL.jmh().forEach(r -> rounds.add((ObjectNode) r));
        List<ObjectNode> joined = rounds.results();
        assertEquals(REAL.jmh().size(), joined.size());
        for (int i = 0; i < joined.size(); i++) {
            var want = REAL.jmh().get(i).path("secondaryMetrics");
            var got = joined.get(i).path("secondaryMetrics");
            for (String metric : List.of("tokens", "gflops")) {
                if (want.has(metric)) {
                    double score = want.path(metric).path("score").asDouble();
                    assertEquals(score, got.path(metric).path("score").asDouble(), 1e-12 * score);
                    assertEquals(want.path(metric).path("scoreError").asDouble(),
                            got.path(metric).path("scoreError").asDouble(), 1e-9 * score);
                }
            }
        }
    }

    @Test
    void roundsBecomeForksAndTheirLoadsFollow() {
        // one fork of ten iterations, as a plain JMH run of one round writes it
        RunDocument oneFork = RunDocument.read(RegressMainTest.resource("tight-one-fork.json"));
        ObjectNode first = oneFork.jmh().get(0).deepCopy();
        first.putArray(RunDocument.OTHER_LOAD).add(1).add(2).add(3).add(4).add(5).add(6).add(7).add(8).add(9).add(10);
        ObjectNode second = first.deepCopy();
        second.withArray("/primaryMetric/rawData").set(0, RunDocument.JSON.valueToTree(
                new double[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
        Rounds rounds = new Rounds();
        rounds.add(first);
        rounds.add(second);
        ObjectNode joined = rounds.results().getFirst();
        assertEquals(2, joined.path("forks").asInt());
        assertEquals(2, joined.path("primaryMetric").path("rawData").size());
        assertEquals(20, joined.path(RunDocument.OTHER_LOAD).size());
        double firstMean = oneFork.jmh().get(0).path("primaryMetric").path("score").asDouble();
        assertEquals((firstMean + 1) / 2, joined.path("primaryMetric").path("score").asDouble(), 1e-9);

        ObjectNode noLoad = oneFork.jmh().get(0).deepCopy();
        noLoad.remove(RunDocument.OTHER_LOAD);
        Rounds mixed = new Rounds();
        mixed.add(first);
        mixed.add(noLoad);
        assertFalse(mixed.results().getFirst().has(RunDocument.OTHER_LOAD),
                "loads that no longer line up with the iterations are dropped");
    }
}
