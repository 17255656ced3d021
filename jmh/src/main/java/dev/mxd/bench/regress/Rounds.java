package dev.mxd.bench.regress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.util.ListStatistics;

/**
 * JMH's results of several rounds of a suite joined into one result per benchmark, as if its rounds were forks:
 * the {@code rawData} of each round becomes one fork's row, the other loads are concatenated, and the score, its
 * 99.9 % error, confidence interval and percentiles are recomputed over all iterations as JMH computes them
 * ({@link ListStatistics}).
 *
 * <p>Why rounds: JMH measures all forks of one benchmark back to back, so a burst of load from another process
 * lands on every iteration of that benchmark and none of the next, and reads as a change of that benchmark. A
 * suite run in rounds (every benchmark once, then every benchmark again) spreads each benchmark's iterations over
 * the whole run, and a burst reaches only one round of it.
 */
final class Rounds {
    private final Map<String, ObjectNode> joined = new LinkedHashMap<>();

    /** Adds one round's result of one benchmark (JMH's JSON object, with its other load if recorded). */
    void add(ObjectNode result) {
        String key = result.path("benchmark").asText() + " " + result.path("params") + " " + result.path("jvmArgs");
        ObjectNode into = joined.get(key);
        if (into == null) {
            joined.put(key, result.deepCopy());
            return;
        }
        into.put("forks", into.path("forks").asInt() + result.path("forks").asInt());
        appendRaw(into.path("primaryMetric"), result.path("primaryMetric"));
        for (Iterator<Map.Entry<String, JsonNode>> it = into.path("secondaryMetrics").fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            appendRaw(e.getValue(), result.path("secondaryMetrics").path(e.getKey()));
        }
        if (into.get(RunDocument.OTHER_LOAD) instanceof ArrayNode load
                && result.get(RunDocument.OTHER_LOAD) instanceof ArrayNode more) {
            load.addAll(more);
        } else {
            // a round without it: the loads no longer line up with the iterations
            into.remove(RunDocument.OTHER_LOAD);
        }
    }

    /** The joined results, in the order their benchmarks first appeared, scores recomputed. */
    List<ObjectNode> results() {
        List<ObjectNode> out = new ArrayList<>();
        for (ObjectNode r : joined.values()) {
            rescore((ObjectNode) r.path("primaryMetric"));
            r.path("secondaryMetrics").forEach(m -> rescore((ObjectNode) m));
            out.add(r);
        }
        return out;
    }

    private static void putNumber(ObjectNode o, String field, double v) {
        if (Double.isNaN(v)) {
            o.put(field, "NaN");
        } else {
            o.put(field, v);
        }
    }

    private static void appendRaw(JsonNode into, JsonNode from) {
        if (into.get("rawData") instanceof ArrayNode forks && from.get("rawData") instanceof ArrayNode more) {
            forks.addAll(more);
        }
    }

    private static void rescore(ObjectNode metric) {
        ListStatistics s = new ListStatistics();
        metric.path("rawData").forEach(fork -> fork.forEach(v -> s.addValue(v.asDouble())));
        if (s.getN() == 0) {
            return;
        }
        metric.put("score", s.getMean());
        putNumber(metric, "scoreError", s.getMeanErrorAt(0.999));
        ArrayNode ci = metric.putArray("scoreConfidence");
        for (double c : s.getConfidenceIntervalAt(0.999)) {
            // JSON has no NaN: JMH writes the string, as here (one iteration has no interval)
            if (Double.isNaN(c)) {
                ci.add("NaN");
            } else {
                ci.add(c);
            }
        }
        if (metric.get("scorePercentiles") instanceof ObjectNode percentiles) {
            List<String> keys = new ArrayList<>();
            percentiles.fieldNames().forEachRemaining(keys::add);
            for (String p : keys) {
                percentiles.put(p, s.getPercentile(Double.parseDouble(p)));
            }
        }
    }
}
