package dev.mxd.explore;

import dev.mxd.checkpoint.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The index's labels from the output of {@code ./mxd probe --json}: for the entry of one model, each language's
 * best single expert gets that language and its F1 ({@code "de (F1 0.93)"}); an expert best for several
 * languages lists them all. Labels from a detector are marked so: the probe file says how its labels were made.
 */
public final class ProbeLabels {
    private ProbeLabels() {
    }

    /**
     * The labels for {@code model} in {@code file}.
     *
     * @param model the model as the probe file names it: an entry matches when its {@code model} is the same path
     *              (both made absolute) or has the same file name
     * @throws IllegalArgumentException when the file is not a probe output or has no entry for the model, naming
     *                                  what is wrong
     */
    public static Map<Integer, String> read(Path file, Path model) throws IOException {
        Map<String, Object> o = Json.parseObject(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        if (!(o.get("models") instanceof List<?> models)) {
            throw new IllegalArgumentException(file + " has no \"models\" list: it is not the output of ./mxd probe"
                    + " --json");
        }
        Path wanted = model.toAbsolutePath().normalize();
        List<String> names = new ArrayList<>();
        for (Object entry : models) {
            if (!(entry instanceof Map<?, ?> m) || !(m.get("model") instanceof String name)) {
                throw new IllegalArgumentException(file + ": an entry of \"models\" has no \"model\" string");
            }
            names.add(name);
            Path p = Path.of(name);
            if (p.toAbsolutePath().normalize().equals(wanted) || p.getFileName().equals(wanted.getFileName())) {
                return labels(file, m);
            }
        }
        throw new IllegalArgumentException(file + " has no entry for the model " + model + " (it has " + names + ")");
    }

    private static Map<Integer, String> labels(Path file, Map<?, ?> entry) {
        if (!(entry.get("per_language") instanceof Map<?, ?> languages)) {
            throw new IllegalArgumentException(file + ": the entry of " + entry.get("model")
                    + " has no \"per_language\" object");
        }
        Map<Integer, List<String>> byExpert = new TreeMap<>();
        for (Map.Entry<?, ?> l : new TreeMap<>(languages).entrySet()) {
            if (!(l.getValue() instanceof Map<?, ?> r) || !(r.get("best_expert") instanceof Integer expert)
                    || !(r.get("best_f1") instanceof Number f1)) {
                throw new IllegalArgumentException(file + ": language " + l.getKey() + " of " + entry.get("model")
                        + " has no integer \"best_expert\" and number \"best_f1\"");
            }
            byExpert.computeIfAbsent(expert, e -> new ArrayList<>())
                    .add(l.getKey() + " (F1 " + Pages.num(f1.doubleValue()) + ")");
        }
        Map<Integer, String> out = new TreeMap<>();
        byExpert.forEach((e, ls) -> out.put(e, String.join(", ", ls)));
        return out;
    }
}
