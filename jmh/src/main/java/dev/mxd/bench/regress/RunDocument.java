package dev.mxd.bench.regress;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One regression run as stored in a baseline or history file: {@code {"environment": {...}, "jmh": [...]}}, where
 * {@code jmh} is JMH's own JSON result list ({@code -rf json}), per-iteration {@code rawData} included, and
 * {@code environment} what {@link Environment} recorded. A bare JMH result list is read too, with an empty
 * environment, so a plain {@code jmh/run ... -rf json} result can be compared.
 *
 * @param environment the recorded environment (may be empty, never null)
 * @param jmh         JMH's result list
 * @param source      where the document came from, for messages
 */
record RunDocument(ObjectNode environment, ArrayNode jmh, String source) {
    static final ObjectMapper JSON = new ObjectMapper();
    /**
     * The field this project adds to each of JMH's results: the other load of each measured iteration
     * ({@link LoadMonitor}), over the forks in order. Other readers of JMH's format ignore it.
     */
    static final String OTHER_LOAD = "mxdOtherLoad";

    /**
     * Reads and checks a document.
     *
     * @throws BadInputException when the file is missing, not JSON, or not shaped like a run, naming what is wrong
     */
    static RunDocument read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read it: " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /** {@link #read} on text already in memory; {@code source} names it in messages. */
    static RunDocument parse(String text, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JacksonException e) {
            throw new BadInputException(source + " is not valid JSON: " + e.getOriginalMessage() + " (line "
                    + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")", e);
        }
        if (root instanceof ArrayNode list) {
            return checked(new RunDocument(JSON.createObjectNode(), list, source));
        }
        if (root instanceof ObjectNode object && object.get("jmh") instanceof ArrayNode list) {
            JsonNode env = object.get("environment");
            if (env != null && !(env instanceof ObjectNode)) {
                throw new BadInputException(source + ": \"environment\" is not an object");
            }
            return checked(new RunDocument(env == null ? JSON.createObjectNode() : (ObjectNode) env, list, source));
        }
        throw new BadInputException(source + " is JSON but not a run: expected {\"environment\": {...}, \"jmh\": [...]}"
                + " as --save-baseline writes it, or JMH's result list (-rf json)");
    }

    private static RunDocument checked(RunDocument doc) {
        doc.scores();
        return doc;
    }

    /** The environment's text field at a dotted path ({@code cpu.model}), or {@code ""} when absent. */
    String env(String dottedPath) {
        JsonNode n = environment;
        for (String part : dottedPath.split("\\.")) {
            n = n.path(part);
        }
        return n.isMissingNode() || n.isNull() ? "" : n.isValueNode() ? n.asText() : n.toString();
    }

    /** Every primary and secondary score, in the order of the JMH list. */
    List<Score> scores() {
        List<Score> out = new ArrayList<>();
        for (int i = 0; i < jmh.size(); i++) {
            JsonNode b = jmh.get(i);
            String where = source + ": jmh[" + i + "]";
            String benchmark = text(b, "benchmark", where);
            where += " (" + benchmark + ")";
            String mode = text(b, "mode", where);
            Map<String, String> params = new LinkedHashMap<>();
            b.path("params").properties().forEach(e -> params.put(e.getKey(), e.getValue().asText()));
            String backend = backendOf(b.path("jvmArgs"));
            double[] load = numbers(b.path(OTHER_LOAD), where + "." + OTHER_LOAD);
            String name = benchmark.startsWith(Score.PACKAGE) ? benchmark.substring(Score.PACKAGE.length()) : benchmark;
            out.add(score(name, "", params, backend, mode, object(b, "primaryMetric", where), load,
                    where + ".primaryMetric"));
            for (var e : b.path("secondaryMetrics").properties()) {
                out.add(score(name, e.getKey(), params, backend, mode, e.getValue(), load,
                        where + ".secondaryMetrics." + e.getKey()));
            }
        }
        return out;
    }

    private static Score score(String name, String metric, Map<String, String> params, String backend, String mode,
            JsonNode m, double[] otherLoad, String where) {
        JsonNode raw = m.get("rawData");
        if (!(raw instanceof ArrayNode forks) || forks.isEmpty()) {
            throw new BadInputException(where + " has no \"rawData\" (the per-iteration scores the comparison tests):"
                    + " is it JMH's -rf json output?");
        }
        List<Double> samples = new ArrayList<>();
        int[] forkSizes = new int[forks.size()];
        for (int f = 0; f < forkSizes.length; f++) {
            JsonNode fork = forks.get(f);
            if (!(fork instanceof ArrayNode) || fork.isEmpty()) {
                throw new BadInputException(where + ".rawData[" + f + "] is " + fork
                        + ", not a fork's list of iterations");
            }
            forkSizes[f] = fork.size();
            for (JsonNode v : fork) {
                if (!v.isNumber()) {
                    throw new BadInputException(where + ".rawData holds " + v + ", not a number");
                }
                samples.add(v.asDouble());
            }
        }
        JsonNode score = m.get("score");
        if (score == null || !score.isNumber()) {
            throw new BadInputException(where + " has no numeric \"score\"");
        }
        JsonNode error = m.path("scoreError");
        return new Score(name, metric, params, backend, mode, text(m, "scoreUnit", where), score.asDouble(),
                error.isNumber() ? error.asDouble() : Double.NaN,
                samples.stream().mapToDouble(Double::doubleValue).toArray(), forkSizes, otherLoad);
    }

    /** The numbers of a JSON list (empty when the field is absent). */
    private static double[] numbers(JsonNode list, String where) {
        if (list.isMissingNode()) {
            return new double[0];
        }
        double[] v = new double[list.size()];
        for (int i = 0; i < v.length; i++) {
            if (!list.get(i).isNumber()) {
                throw new BadInputException(where + "[" + i + "] is " + list.get(i) + ", not a number");
            }
            v[i] = list.get(i).asDouble();
        }
        return v;
    }

    /** The last {@code -Dmxd.backend=} of the fork's JVM arguments (the JVM takes the last), else {@code cpu}. */
    private static String backendOf(JsonNode jvmArgs) {
        String backend = "cpu";
        for (JsonNode a : jvmArgs) {
            String s = a.asText();
            if (s.startsWith("-Dmxd.backend=")) {
                backend = s.substring("-Dmxd.backend=".length());
            }
        }
        return backend;
    }

    private static String text(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new BadInputException(where + " has no text field \"" + field + "\"");
        }
        return v.asText();
    }

    private static JsonNode object(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (!(v instanceof ObjectNode)) {
            throw new BadInputException(where + " has no object \"" + field + "\"");
        }
        return v;
    }

    /** Writes the document, indented, to {@code file} (replacing it). */
    void write(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), toJson());
    }

    /** The document as one line of JSON, for the history file. */
    String toLine() {
        try {
            return JSON.writeValueAsString(toJson());
        } catch (IOException e) {
            throw new IllegalStateException("a JSON tree failed to serialise", e);
        }
    }

    private ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.set("environment", environment);
        root.set("jmh", jmh);
        return root;
    }
}
