package dev.mxd.checkpoint.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleMxd;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Loads each reference fixture and writes it back in mxd's layout (DESIGN §4: {@code mxd.safetensors} with
 * the reference's tensor names, F32, plus {@code cfg.json}) together with {@code expected.safetensors}: an
 * input x and mxd's float64 output y. tools/interop/load_in_pytorch.py loads such a directory into a
 * PyTorch module with the reference's names and checks y, closing the loop PyTorch → mxd → PyTorch.
 *
 * <p>The files go to a temporary directory, or to {@code -Dmxd.interop.dir=DIR} (one folder per fixture)
 * for running the Python script on them. The safetensors writer here is a test-side stand-in for the
 * library's own checkpoint writer.
 */
class InteropExportTest {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @TempDir
    Path temp;

    @ParameterizedTest
    @ValueSource(strings = {"mxd_relu", "mxd_glu_skip_gelu", "mxd_glu_sigmoid_dout", "tc_gelu_tanh_proto4",
            "stc_glu_gelu", "mxd_mixed_dtypes"})
    void writesAModelDirectoryPyTorchCanLoad(String fixture) throws IOException {
        String target = System.getProperty("mxd.interop.dir");
        Path dir = Files.createDirectories((target == null || target.isBlank() ? temp : Path.of(target)).resolve(fixture));
        Map<String, Fixtures.Entry> expected = Fixtures.expected(fixture);
        float[] x = expected.get("x").floats();
        long[] xShape = expected.get("x").shape();
        try (MxdModel model = TorchCheckpoint.load(Fixtures.pt(fixture))) {
            MxdConfig config = model.config();
            Map<String, Object> weights = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            model.tensors().forEach((name, t) -> {
                weights.put(name, t.data().toArray(Tensor.F32_LE));
                shapes.put(name, t.shape());
            });
            Fixtures.writeSafetensors(dir.resolve("mxd.safetensors"), weights, shapes);
            JSON.writeValue(dir.resolve("cfg.json").toFile(), config.toReferenceFields());

            double[] y = new OracleMxd(model).forward(x, (int) xShape[0]).y();
            Map<String, Object> io = new LinkedHashMap<>();
            io.put("x", x);
            io.put("y", y);
            Fixtures.writeSafetensors(dir.resolve("expected.safetensors"), io,
                    Map.of("x", xShape, "y", new long[] {xShape[0], config.outputDim()}));

            // What was written reads back: the same tensors bit for bit and the same config.
            Map<String, Fixtures.Entry> back = Fixtures.readSafetensors(dir.resolve("mxd.safetensors"));
            assertEquals(model.tensors().keySet(), back.keySet());
            for (String name : back.keySet()) {
                assertArrayEquals((float[]) weights.get(name), back.get(name).floats(), name);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> fields = JSON.readValue(dir.resolve("cfg.json").toFile(), Map.class);
            MxdConfig reread = MxdConfig.fromReferenceFields(fields);
            assertEquals(config.kind(), reread.kind());
            assertEquals(config.tensorShapes().keySet(), reread.tensorShapes().keySet());
            assertEquals(config.k(), reread.k());
            assertEquals(config.activation(), reread.activation());
        }
    }
}
