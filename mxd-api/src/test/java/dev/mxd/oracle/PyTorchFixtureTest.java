package dev.mxd.oracle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Codes;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The oracle against numbers it did not produce: forward passes computed by PyTorch in float64
 * ({@code tools/fixtures/make_forward_fixtures.py}), for every activation, GLU and skip, MxD, TC and STC,
 * odd sizes, K = 1, K = N and T = 1.
 */
class PyTorchFixtureTest {

    static Stream<Path> cases() throws IOException, URISyntaxException {
        Path root = Path.of(PyTorchFixtureTest.class.getResource("/fixtures/forward").toURI());
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(Files::isDirectory).sorted().toList().stream();
        }
    }

    private static double[] doubles(Tensor t) {
        double[] d = new double[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.dtype() == DType.F64 ? t.data().getAtIndex(Tensor.F64_LE, i) : t.data().getAtIndex(Tensor.F32_LE, i);
        }
        return d;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void oracleMatchesPyTorch(Path dir) throws IOException {
        try (MxdModel model = ModelFiles.load(dir); SafetensorsFile io = SafetensorsFile.open(dir.resolve("io.safetensors"))) {
            Tensor xt = io.tensor("x");
            int tokens = (int) xt.shape()[0];
            float[] x = new float[Math.toIntExact(xt.elementCount())];
            for (int i = 0; i < x.length; i++) {
                x[i] = xt.data().getAtIndex(Tensor.F32_LE, i);
            }
            double[] yTorch = doubles(io.tensor("y"));
            Tensor idxTorch = io.tensor("codes.index");
            double[] valTorch = doubles(io.tensor("codes.value"));

            OracleMxd oracle = new OracleMxd(model);
            OracleMxd.Result r = oracle.forward(x, tokens);
            double maxAbs = 0;
            for (double v : yTorch) {
                maxAbs = Math.max(maxAbs, Math.abs(v));
            }
            for (int e = 0; e < yTorch.length; e++) {
                // Both sides compute in float64 from the same float32 weights: only summation order differs.
                assertEquals(yTorch[e], r.y()[e], 1e-12 * maxAbs + 1e-12 * Math.abs(yTorch[e]), dir.getFileName() + " y[" + e + "]");
            }
            int k = model.config().k();
            assertEquals(tokens * k, valTorch.length);
            for (int e = 0; e < valTorch.length; e++) {
                assertEquals(idxTorch.data().getAtIndex(Tensor.I32_LE, e), r.codes().index()[e], dir.getFileName() + " index " + e);
                assertEquals(valTorch[e], r.codes().value()[e], 1e-12 * Math.max(1, Math.abs(valTorch[e])));
            }

            // The reference backend (float32 outputs) within DESIGN §6, fused and in two steps.
            try (MxdLayer layer = new OracleBackend().load(model)) {
                MxdLayer.Output fused = layer.forward(x);
                Codes codes = layer.encode(x);
                float[] twoStep = layer.decode(x, codes);
                for (int e = 0; e < yTorch.length; e++) {
                    double tol = 1e-5 * maxAbs + 1e-4 * Math.abs(yTorch[e]);
                    assertTrue(Math.abs(fused.y()[e] - yTorch[e]) <= tol, dir.getFileName() + " fused y[" + e + "]");
                    assertEquals(fused.y()[e], twoStep[e], 0.0, "two-step equals fused");
                }
            }
        }
    }
}
