package dev.mxd.oracle;

import dev.mxd.Availability;
import dev.mxd.Codes;
import dev.mxd.DenseOps;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.oracle.OracleTrainingKernels;
import dev.mxd.train.TrainingBackend;
import dev.mxd.train.TrainingKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The oracle offered as backend {@code reference}: exact (float64 inside, rounded to float32 outputs) and
 * slow. Never chosen by {@code auto}.
 */
public final class OracleBackend implements TrainingBackend {
    public static final String NAME = "reference";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Availability availability() {
        return Availability.ready(false, "float64 scalar oracle");
    }

    @Override
    public MxdLayer load(MxdModel model) {
        MxdLayer.checkFiniteWeights(model);
        return new Layer(new OracleMxd(model));
    }

    /** The float64 oracle's training kernels ({@link OracleTrainingKernels}): exact, slow, single-threaded. */
    @Override
    public TrainingKernels kernels(MxdModel model) {
        Objects.requireNonNull(model, "model").requireOpen("train on backend " + NAME);
        return new OracleTrainingKernels(model);
    }

    /** Plain float64 loops ({@link OracleDenseOps}): what other backends' dense operations are checked against. */
    @Override
    public DenseOps denseOps() {
        return new OracleDenseOps();
    }

    private static final class Layer extends MxdLayer {
        private final OracleMxd oracle;

        Layer(OracleMxd oracle) {
            super(oracle.config(), NAME);
            this.oracle = oracle;
        }

        @Override
        protected void forwardImpl(MemorySegment x, int tokens, MemorySegment y, Codes codes) {
            // Decode from the float32 codes the caller receives, so that fused and two-step agree bit for bit.
            float[] in = x.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
            writeCodes(oracle.encode(in, tokens), codes);
            writeY(oracle.decode(in, tokens, OracleMxd.Codes64.of(codes)), y);
        }

        @Override
        protected void encodeImpl(MemorySegment x, int tokens, Codes codes) {
            writeCodes(oracle.encode(x.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED), tokens), codes);
        }

        @Override
        protected void decodeImpl(MemorySegment x, int tokens, Codes codes, MemorySegment y) {
            writeY(oracle.decode(x.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED), tokens, OracleMxd.Codes64.of(codes)), y);
        }

        @Override
        protected void closeImpl() {
        }

        private static void writeCodes(OracleMxd.Codes64 from, Codes to) {
            for (int t = 0; t < from.tokens(); t++) {
                for (int j = 0; j < from.width(); j++) {
                    int e = t * from.width() + j;
                    to.set(t, j, from.index()[e], (float) from.value()[e]);
                }
            }
        }

        private static void writeY(double[] from, MemorySegment to) {
            for (int e = 0; e < from.length; e++) {
                to.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, e, (float) from[e]);
            }
        }
    }
}
