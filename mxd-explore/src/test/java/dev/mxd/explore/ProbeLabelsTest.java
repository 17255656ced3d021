package dev.mxd.explore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProbeLabelsTest {
    @TempDir
    Path tmp;

    @Test
    void eachLanguageLabelsItsBestExpertForTheModelNamed() throws Exception {
        Path probes = tmp.resolve("probes.json");
        Files.writeString(probes, """
                {"labels": "detected by lingua", "languages": ["de", "fr", "it"], "models": [
                 {"model": "demo/models/tc-k32", "kind": "TC", "k": 32, "per_language": {
                   "de": {"best_f1": 0.5, "best_expert": 1, "k_sparse_accuracy": {"1": 0.5}}}},
                 {"model": "demo/models/mxd-k32", "kind": "MXD", "k": 32, "per_language": {
                   "fr": {"best_f1": 0.91234, "best_expert": 12, "k_sparse_accuracy": {"1": 0.8}},
                   "de": {"best_f1": 0.8, "best_expert": 7, "k_sparse_accuracy": {"1": 0.7}},
                   "it": {"best_f1": 0.75, "best_expert": 12, "k_sparse_accuracy": {"1": 0.6}}}}]}
                """);
        assertEquals(Map.of(7, "de (F1 0.8)", 12, "fr (F1 0.9123), it (F1 0.75)"),
                ProbeLabels.read(probes, Path.of("elsewhere/mxd-k32")));
        assertEquals(Map.of(1, "de (F1 0.5)"), ProbeLabels.read(probes, Path.of("demo/models/tc-k32")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProbeLabels.read(probes, Path.of("stc-k32")));
        assertTrue(e.getMessage().contains("has no entry for the model stc-k32"), e.getMessage());
        Files.writeString(probes, "{\"tokens\": []}");
        e = assertThrows(IllegalArgumentException.class, () -> ProbeLabels.read(probes, Path.of("x")));
        assertTrue(e.getMessage().contains("not the output of ./mxd probe"), e.getMessage());
    }
}
