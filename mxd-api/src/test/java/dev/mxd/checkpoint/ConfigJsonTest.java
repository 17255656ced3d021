package dev.mxd.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigJsonTest {
    @TempDir
    Path dir;

    private static final String REFERENCE_LIKE = """
            {
              "model_name": "gpt2",
              "d_in": 8,
              "hook_point": {"layer": 3, "names": ["blocks.3.ln2.hook_normalized", "blocks.3.hook_mlp_out"],
                             "deep": {"z": null, "a": [1, 2.5, "s", true, null, {"k": -0.0}]}},
              "d_sae": 32,
              "n_experts": 64,
              "topk": 4,
              "lr": 4e-4,
              "use_conditional": true,
              "mlp_activation_fn": "gelu",
              "seed": 42,
              "total_tokens": 12345678901234,
              "empty": {},
              "nothing": []
            }
            """;

    @Test
    void readsTheModelledFields() {
        MxdConfig c = ConfigJson.parse(REFERENCE_LIKE, "test");
        assertEquals(Kind.MXD, c.kind());
        assertEquals(8, c.inputDim());
        assertEquals(32, c.hiddenDim());
        assertEquals(8, c.outputDim(), "d_out defaults to d_in");
        assertEquals(64, c.experts());
        assertEquals(4, c.k());
        assertEquals(Activation.GELU, c.activation());
    }

    @Test
    void unknownFieldsSurviveARoundTripInOrder() throws IOException {
        MxdConfig c = ConfigJson.parse(REFERENCE_LIKE, "test");
        assertEquals(List.of("model_name", "hook_point", "lr", "seed", "total_tokens", "empty", "nothing"),
                List.copyOf(c.otherFields().keySet()));
        Map<String, Object> deep = new LinkedHashMap<>();
        deep.put("z", null);
        deep.put("a", Arrays.asList(1, 2.5, "s", true, null, Map.of("k", -0.0)));
        Map<String, Object> hook = new LinkedHashMap<>();
        hook.put("layer", 3);
        hook.put("names", List.of("blocks.3.ln2.hook_normalized", "blocks.3.hook_mlp_out"));
        hook.put("deep", deep);
        assertEquals(hook, c.otherFields().get("hook_point"));
        assertEquals(List.of("z", "a"), new ArrayList<>(((Map<?, ?>) ((Map<?, ?>) c.otherFields().get("hook_point"))
                .get("deep")).keySet()), "nested key order");
        assertEquals(4e-4, c.otherFields().get("lr"));
        assertEquals(12345678901234L, c.otherFields().get("total_tokens"));

        Path file = dir.resolve(ConfigJson.FILE_NAME);
        ConfigJson.write(c, file);
        MxdConfig back = ConfigJson.read(file);
        assertEquals(c, back);
        assertEquals(List.copyOf(c.otherFields().keySet()), List.copyOf(back.otherFields().keySet()));
        assertEquals(Files.readString(file), ConfigJson.toJson(back), "writing is a fixed point after one round");
        Object negZero = ((Map<?, ?>) ((List<?>) deep(back).get("a")).get(5)).get("k");
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits((Double) negZero));
    }

    private static Map<?, ?> deep(MxdConfig c) {
        return (Map<?, ?>) ((Map<?, ?>) c.otherFields().get("hook_point")).get("deep");
    }

    @Test
    void writesReadableJsonWithTheModelledFieldsFirst() {
        String json = ConfigJson.toJson(ConfigJson.parse(REFERENCE_LIKE, "test"));
        assertTrue(json.startsWith("{\n  \"d_in\": 8,\n  \"d_sae\": 32,\n  \"d_out\": 8,\n  \"n_experts\": 64,\n"), json);
        assertTrue(json.contains("\n  \"expansion_factor\": 4.0,\n  \"model_name\": \"gpt2\",\n"), json);
    }

    @Test
    void malformedJsonNamesTheFileAndPosition() throws IOException {
        Path file = dir.resolve(ConfigJson.FILE_NAME);
        Files.writeString(file, "{\n  \"d_in\": 8,\n  \"d_sae\": 32\n  \"topk\": 4\n}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConfigJson.read(file));
        assertTrue(e.getMessage().startsWith(file + " is malformed JSON at line 4, column 3"), e.getMessage());
    }

    @Test
    void aValueThatIsNotAnObjectIsRefused() throws IOException {
        Path file = dir.resolve(ConfigJson.FILE_NAME);
        Files.writeString(file, "[{\"d_in\": 8}]");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConfigJson.read(file));
        assertEquals(file + " is not a JSON object: it is an array", e.getMessage());
    }

    @Test
    void invalidFieldsNameTheFileAndTheField() throws IOException {
        Path file = dir.resolve(ConfigJson.FILE_NAME);
        Files.writeString(file, "{\"d_in\": 8, \"d_sae\": 32, \"n_experts\": 64, \"topk\": 0, \"use_conditional\": true}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConfigJson.read(file));
        assertTrue(e.getMessage().startsWith(file + ": topk (K) = 0"), e.getMessage());
        Files.writeString(file, "{\"d_in\": \"eight\", \"d_sae\": 32, \"topk\": 2}");
        e = assertThrows(IllegalArgumentException.class, () -> ConfigJson.read(file));
        assertTrue(e.getMessage().startsWith(file + ": d_in = eight is not an integer"), e.getMessage());
    }

    @Test
    void bytesThatAreNotUtf8AreRefusedWithTheirOffset() throws IOException {
        Path file = dir.resolve(ConfigJson.FILE_NAME);
        byte[] bytes = "{\"note\": \"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(file, bytes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConfigJson.read(file));
        assertTrue(e.getMessage().contains(file + " is not valid UTF-8") && e.getMessage().contains("at byte 13"),
                e.getMessage());
    }
}
